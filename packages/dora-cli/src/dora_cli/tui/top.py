"""The ``dora top`` TUI: a live table of every node of every running dataflow.

The app only displays: ``fetch`` returns one snapshot (a list of
:class:`~dora_message.coordinator_to_cli.NodeInfo`), called on mount, every
``interval`` seconds and on ``r``. Rows and formats come from
:mod:`dora_cli.tui.top_rows`. Keys: ``q``/``Esc`` quit, ``↓``/``j`` and ``↑``/``k``
move the selection (wrapping), ``n``/``c``/``m`` sort by name / CPU / memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from dora_cli.tui.top_rows import (
    STATUS_STYLE,
    SortKey,
    SortOrder,
    header,
    node_key,
    row_cells,
    sort_nodes,
)
from dora_message.coordinator_to_cli import NodeInfo

Fetch = Callable[[], Awaitable[list[NodeInfo]]]
MARKER = ">> "


class TopApp(App[None]):
    """Shows snapshots from ``fetch`` in a table, refreshed every ``interval`` seconds."""

    CSS = """
    DataTable { border: round $accent; height: 1fr; }
    #status { height: 1; color: $warning; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("escape", "quit", "Quit", show=False),
        Binding("down,j", "move(1)", "Next", priority=True),
        Binding("up,k", "move(-1)", "Previous", priority=True),
        Binding("n", "sort('name')", "Sort by name"),
        Binding("c", "sort('cpu')", "Sort by CPU"),
        Binding("m", "sort('memory')", "Sort by memory"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(self, fetch: Fetch, interval: float = 2.0) -> None:
        super().__init__()
        self._fetch = fetch
        self.interval = interval
        self.order = SortOrder()
        self.nodes: list[NodeInfo] = []  # in display order
        self.selected: tuple[str, str] | None = None  # (dataflow id, node id)
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        seconds = f"{self.interval:g}"
        table.border_title = (
            f" Dora Inspect Top - Refreshing every {seconds}s "
            "(q: quit, n/c/m: sort, r: refresh nodes) "
        )
        yield table
        yield Static("", id="status")

    async def on_mount(self) -> None:
        self.set_interval(self.interval, self.action_refresh_now)
        await self.action_refresh_now()

    # ---- data ------------------------------------------------------------------

    async def action_refresh_now(self) -> None:
        """Fetch a snapshot now; on failure keep the last rows and show the error."""
        try:
            nodes = await self._fetch()
        except Exception as exc:  # a coordinator that went away must not end the TUI
            self.error = str(exc) or type(exc).__name__
        else:
            self.error = None
            self.show(nodes)
        status = self.query_one("#status", Static)
        if self.error:
            status.update(f"error: {self.error}")
        elif not self.nodes:
            status.update("No running dataflows.")
        else:
            status.update(f"{len(self.nodes)} node(s)")

    def show(self, nodes: list[NodeInfo]) -> None:
        """Replace the rows, keeping the selected node selected when it is still there."""
        self.nodes = sort_nodes(nodes, self.order)
        keys = [node_key(n) for n in self.nodes]
        if self.selected not in keys:
            self.selected = keys[0] if keys else None
        self._render_table()

    # ---- actions ---------------------------------------------------------------

    def action_move(self, step: int) -> None:
        """Select the next (``step`` 1) or previous (-1) node, wrapping around."""
        if not self.nodes:
            return
        keys = [node_key(n) for n in self.nodes]
        index = keys.index(self.selected) if self.selected in keys else 0
        self.selected = keys[(index + step) % len(keys)]
        self._render_table()

    def action_sort(self, key: SortKey) -> None:
        """Sort by ``key``; the active key toggles the direction."""
        self.order = self.order.press(key)
        self.show(self.nodes)

    # ---- rendering -------------------------------------------------------------

    @property
    def selected_node(self) -> str | None:
        """The node id of the selected row."""
        return None if self.selected is None else self.selected[1]

    def _render_table(self) -> None:
        table: DataTable[str | Text] = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("", key="marker")
        for label in header(self.order):
            table.add_column(label)
        cursor = 0
        for index, node in enumerate(self.nodes):
            cells: list[str | Text] = list(row_cells(node))
            style = STATUS_STYLE.get(str(cells[1]))
            if style:
                cells[1] = Text(str(cells[1]), style=style)
            chosen = node_key(node) == self.selected
            if chosen:
                cursor = index
            table.add_row(MARKER if chosen else "", *cells)
        if self.nodes:
            table.move_cursor(row=cursor, animate=False)
            table.update_cell_at(Coordinate(cursor, 0), MARKER)
