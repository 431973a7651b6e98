"""The C rows' table: C nodes through dora beside the bare C exchange, and their ratio.

The ratio is a *cost* ratio, dora/bare for times and bare/dora for rates, so it reads the
way DESIGN.md states the target: "<= 1.2 x a bare C socket exchange". Values are medians
over repetitions; a figure with a bad repetition shows it, as in the main report.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from c_rows import FIGURES, TARGET_RATIO, TARGETS
from report import Cell, aggregate, format_value, machine_description, markdown_table, text_table
from scenarios import FigureDef, Measured

SYSTEMS = ("dora", "bare")
HEADER = ("figure", "C nodes, dora run", "bare C exchange", "dora / bare", "target", "status")


@dataclass
class CRow:
    fig: FigureDef
    cells: dict[str, Cell]
    ratio: float | None
    target: str
    status: str


def cost_ratio(fig: FigureDef, dora: float, bare: float) -> float | None:
    """How many times the bare exchange's cost dora's is (> 1: dora is slower)."""
    if fig.better == "lower":
        return None if bare == 0 else dora / bare
    return None if dora == 0 else bare / dora


def build_rows(measured: dict[str, dict[str, list[Measured]]]) -> list[CRow]:
    """``measured[system][figure key]`` holds one Measured per repetition."""
    rows = []
    for fig in FIGURES:
        cells = {s: aggregate(fig, measured.get(s, {}).get(fig.key, [])) for s in SYSTEMS}
        dora, bare = cells["dora"], cells["bare"]
        ratio = None
        if dora.value is not None and bare.value is not None:
            ratio = cost_ratio(fig, dora.value, bare.value)
        target, status = "-", "info"
        if fig.key in TARGETS:
            target = f"<= {TARGET_RATIO:g}x bare"
            if not (dora.clean and bare.clean) or ratio is None:
                status = "n/a (bad repetitions)"
            else:
                status = "met" if ratio <= TARGET_RATIO else "NOT met"
        rows.append(CRow(fig, cells, ratio, target, status))
    return rows


def _cell(fig: FigureDef, cell: Cell) -> str:
    if cell.problem == "not run":
        return "not run"
    if cell.value is None:
        return f"{cell.label}: {cell.problem}"
    text = format_value(fig.unit, cell.value)
    return text if cell.bad == 0 else f"{text} ({cell.bad}/{cell.reps} reps bad: {cell.problem})"


def table(rows: list[CRow]) -> list[tuple[str, ...]]:
    return [
        (
            row.fig.label,
            _cell(row.fig, row.cells["dora"]),
            _cell(row.fig, row.cells["bare"]),
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target,
            row.status,
        )
        for row in rows
    ]


def render_text(rows: list[CRow]) -> str:
    return "\n".join(text_table(HEADER, table(rows)))


def render_markdown(
    rows: list[CRow],
    per_rep: dict[str, dict[str, list[Measured]]],
    argv: list[str],
    settings: str,
) -> str:
    lines = [
        "## C nodes",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *machine_description(),
        f"- command: `{shlex.join(argv)}`",
        f"- settings: {settings}",
        "",
        *markdown_table(HEADER, table(rows)),
        "",
        "Per repetition (in run order):",
        "",
    ]
    for fig in FIGURES:
        parts = []
        for system in SYSTEMS:
            values = per_rep.get(system, {}).get(fig.key, [])
            text = ", ".join(
                "bad" if m.value is None else format_value(fig.unit, m.value) for m in values
            )
            parts.append(f"{system} {text or '-'}")
        lines.append(f"- {fig.label}: {'; '.join(parts)}")
    return "\n".join(lines) + "\n"
