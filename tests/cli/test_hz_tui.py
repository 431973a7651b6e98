"""The `dora topic hz` textual app, driven headlessly with Pilot on injected instants."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Sparkline, Static

from dora_cli.commands.topic import topic
from dora_cli.tui.hz import SELECTED_STYLE, HzApp
from dora_cli.tui.hz_rows import FOOTER, HzState

TOPICS = ["camera/image", "imu/data"]


class Feed:
    """Arrivals a test hands to the app, and the clock it reads."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, float]] = []
        self.now = 0.0

    def poll(self) -> list[tuple[str, float]]:
        taken, self.pending = self.pending, []
        return taken

    def clock(self) -> float:
        return self.now


def make_app(feed: Feed) -> HzApp:
    return HzApp(HzState(10.0, TOPICS), feed.poll, feed.clock, interval=3600)


def cells(app: HzApp, row: int) -> list[Text]:
    table = app.query_one("#rates", DataTable)
    return [cell for cell in table.get_row_at(row)]


def chart_title(app: HzApp, name: str) -> str:
    return str(app.query_one(f"#{name}", Sparkline).border_title)


def drawn(widget: Sparkline) -> str:
    """The characters the widget draws at its current size."""
    out = io.StringIO()
    console = Console(file=out, width=widget.size.width, height=widget.size.height)
    console.print(widget.render())
    return out.getvalue()


def run(scenario) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(scenario())


@pytest.mark.timeout(60)
def test_table_shows_every_row_and_the_selected_one_yellow() -> None:
    async def scenario() -> None:
        feed = Feed()
        app = make_app(feed)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            table = app.query_one("#rates", DataTable)
            labels = [str(c.label) for c in table.columns.values()]
            assert labels == ["Output", "Avg (ms)", "Avg (Hz)", "Min (ms)", "Max (ms)", "Std (ms)"]
            assert [str(cells(app, r)[0]) for r in range(3)] == ["ALL", *TOPICS]
            assert [str(c) for c in cells(app, 1)[1:]] == ["-"] * 5  # nothing yet
            feed.pending = [("camera/image", i * 0.1) for i in range(11)]
            feed.pending.append(("imu/data", 0.55))
            feed.now = 1.0
            app.redraw()
            await pilot.pause()
            assert [str(c) for c in cells(app, 1)] == [
                "camera/image",
                "100.00",
                "10.00",
                "100.00",
                "100.00",
                "0.00",
            ]
            assert all(cell.style == SELECTED_STYLE for cell in cells(app, 0))
            assert all(cell.style == "" for cell in cells(app, 1))
            assert str(app.query_one("#footer", Static).render()) == FOOTER

    run(scenario)


@pytest.mark.timeout(60)
def test_selection_moves_wraps_and_retitles_the_charts() -> None:
    async def scenario() -> None:
        feed = Feed()
        app = make_app(feed)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert app.selected_name == "ALL"
            assert chart_title(app, "sparkline") == "Recent Rate (Hz) — ALL"
            await pilot.press("down")
            assert app.selected_name == "camera/image"
            assert chart_title(app, "sparkline") == "Recent Rate (Hz) — camera/image"
            assert all(cell.style == SELECTED_STYLE for cell in cells(app, 1))
            assert all(cell.style == "" for cell in cells(app, 0))
            await pilot.press("j", "j")
            assert app.selected_name == "ALL"  # wrapped
            await pilot.press("k")
            assert app.selected_name == "imu/data"  # wrapped backwards
            await pilot.press("up")
            assert chart_title(app, "sparkline") == "Recent Rate (Hz) — camera/image"

    run(scenario)


@pytest.mark.timeout(60)
def test_histogram_and_sparkline_follow_the_selected_row() -> None:
    async def scenario() -> None:
        feed = Feed()
        app = make_app(feed)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert chart_title(app, "histogram") == "Histogram (ms) — min=-, max=-"
            feed.pending = [("camera/image", t) for t in (0.0, 0.01, 0.03, 0.06)]
            feed.pending += [("imu/data", t) for t in (0.2, 0.7)]
            feed.now = 0.7
            app.redraw()
            await pilot.press("down")  # camera/image
            assert chart_title(app, "histogram") == "Histogram (ms) — min=10.00, max=30.00"
            assert 10 <= len(app.histogram.counts) <= 40
            assert sum(app.histogram.counts) == 3
            sparkline = app.query_one("#sparkline", Sparkline)
            assert app.state.history("camera/image") == [0, 4]  # mount, then the redraw
            assert sparkline.data == [0, 4]
            await pilot.press("down")  # imu/data
            assert chart_title(app, "histogram") == "Histogram (ms) — min=500.00, max=500.00"
            assert sparkline.data == [0, 2]
            feed.now = 1.8  # 0.2 and 0.7 are more than a second old
            app.redraw()
            assert sparkline.data == [0, 2, 0]
            await pilot.pause()
            assert "█" in drawn(sparkline)
            histogram = app.query_one("#histogram", Sparkline)
            assert "█" in drawn(histogram)  # one bin holds every interval

    run(scenario)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("key", ["q", "escape", "ctrl+c"])
def test_quit_keys(key: str) -> None:
    async def scenario() -> None:
        app = make_app(Feed())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press(key)
            await pilot.pause()
            assert not app.is_running
        assert app.return_code == 0

    run(scenario)


@pytest.mark.timeout(60)
def test_without_a_terminal_hz_asks_for_duration() -> None:
    result = CliRunner().invoke(topic, ["hz", "-d", "flow"])
    assert result.exit_code == 1
    assert "--duration" in result.output and "interactive terminal" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.timeout(60)
def test_the_cli_does_not_import_textual_up_front() -> None:
    code = "import sys, dora_cli.main; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
