"""The ``dora topic hz`` TUI: live interval statistics of some topics.

The app only displays. Every ``interval`` seconds (and once on mount) it takes the
arrivals that ``poll`` hands over (``(topic, instant)`` pairs, never blocking), adds
them to its :class:`~dora_cli.tui.hz_rows.HzState`, samples it at ``clock()`` and
redraws: the table of every row (``ALL`` first, the selected one yellow), then for the
selected row the recent-rate sparkline and the histogram of its intervals. Keys:
``↓``/``j`` and ``↑``/``k`` move the selection (wrapping), ``q``/``Esc``/``Ctrl-C`` quit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Sparkline, Static

from dora_cli.tui.charts import Histogram, bin_count, histogram
from dora_cli.tui.hz_rows import (
    COLUMNS,
    FOOTER,
    HzState,
    histogram_title,
    row_cells,
    sparkline_title,
)

Poll = Callable[[], Iterable[tuple[str, float]]]
Clock = Callable[[], float]
REDRAW_S = 0.05
SELECTED_STYLE = "bold yellow"


class HzApp(App[None]):
    """Shows the rates of ``state``'s topics, fed by ``poll``, redrawn every ``interval``."""

    CSS = """
    #rates { height: auto; max-height: 50%; border: round $accent; }
    Sparkline { border: round $accent; }
    #sparkline { height: 7; }
    #histogram { height: 1fr; min-height: 5; }
    #footer { dock: bottom; height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("escape", "quit", "Quit", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("down,j", "move(1)", "Next", priority=True),
        Binding("up,k", "move(-1)", "Previous", priority=True),
    ]

    def __init__(
        self,
        state: HzState,
        poll: Poll,
        clock: Clock = time.monotonic,
        interval: float = REDRAW_S,
    ) -> None:
        super().__init__()
        self.state = state
        self._poll = poll
        self._clock = clock
        self.interval = interval
        self.selected = 0  # index into state.names
        self.histogram = Histogram((0,) * bin_count(0))

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="rates", cursor_type="row")
        table.show_cursor = False
        table.border_title = f" Topic Hz - window {self.state.window.window_s:g}s "
        yield table
        yield Sparkline([], id="sparkline")
        yield Sparkline([], id="histogram")
        yield Static(FOOTER, id="footer")

    def on_mount(self) -> None:
        table: DataTable[str | Text] = self.query_one("#rates", DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        for name in self.state.names:
            table.add_row(*([""] * len(COLUMNS)), key=name)
        self.set_interval(self.interval, self.redraw)
        self.redraw()

    @property
    def selected_name(self) -> str:
        """The name of the selected row (``ALL`` or a topic)."""
        return self.state.names[self.selected]

    # ---- data ------------------------------------------------------------------

    def redraw(self) -> None:
        """Take the new arrivals, sample the statistics now and show them."""
        for topic, instant in self._poll():
            self.state.add(topic, instant)
        now = self._clock()
        self.state.sample(now)
        self._render_table()
        self._render_charts(now)

    # ---- actions ---------------------------------------------------------------

    def action_move(self, step: int) -> None:
        """Select the next (``step`` 1) or previous (-1) row, wrapping around."""
        self.selected = (self.selected + step) % len(self.state.names)
        self._render_table()
        self._render_charts(self._clock())

    # ---- rendering -------------------------------------------------------------

    def _render_table(self) -> None:
        table: DataTable[str | Text] = self.query_one("#rates", DataTable)
        for index, (name, rate) in enumerate(self.state.rows):
            style = SELECTED_STYLE if index == self.selected else ""
            for label, cell in zip(COLUMNS, row_cells(name, rate), strict=True):
                table.update_cell(name, label, Text(cell, style=style))
        table.move_cursor(row=self.selected, animate=False)

    def _render_charts(self, now: float) -> None:
        name = self.selected_name
        sparkline = self.query_one("#sparkline", Sparkline)
        history = self.state.history(name)
        sparkline.border_title = sparkline_title(name)
        latest = history[-1] if history else 0
        sparkline.border_subtitle = f"now={latest} Hz, max={max(history, default=0)} Hz"
        sparkline.data = history[-max(1, sparkline.size.width) :]

        chart = self.query_one("#histogram", Sparkline)
        width = chart.size.width
        self.histogram = histogram(self.state.intervals(name, now), bin_count(width))
        chart.border_title = histogram_title(self.histogram.low, self.histogram.high)
        chart.border_subtitle = f"{sum(self.histogram.counts)} intervals"
        chart.data = list(self.histogram.counts)


def run_hz(state: HzState, poll: Poll) -> None:
    """Run the TUI in this terminal until the user quits."""
    HzApp(state, poll).run()
