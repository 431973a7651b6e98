"""Plain tables on stdout: aligned columns, bold header, no borders.

Coloured and fitted to the terminal when stdout is one; otherwise plain text 200
columns wide, so scripts and tests read whole rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print ``rows`` (already formatted cells) under ``columns``."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200, no_color=True)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
