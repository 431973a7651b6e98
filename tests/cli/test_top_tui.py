"""The `dora top` textual app, driven headlessly with Pilot on fixed snapshots."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable

from dora_cli.tui.top import MARKER, TopApp
from dora_message.coordinator_to_cli import NodeInfo
from tests.cli.test_top_rows import node

SNAPSHOT = [
    node("camera", cpu=80.0, memory=10.0),
    node("detector", cpu=20.0, memory=500.0, status="degraded"),
    node("actuator", cpu=5.0, memory=50.0),
]


class FakeSource:
    """Serves snapshots and lets a test wait for the next fetch."""

    def __init__(self, nodes: list[NodeInfo]) -> None:
        self.nodes = nodes
        self.calls = 0
        self.fetched = asyncio.Event()

    async def __call__(self) -> list[NodeInfo]:
        self.calls += 1
        self.fetched.set()
        return list(self.nodes)


def column(app: TopApp, index: int) -> list[str]:
    table = app.query_one(DataTable)
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


def run(scenario) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(scenario())


@pytest.mark.timeout(60)
def test_sorting_keys_reorder_rows() -> None:
    async def scenario() -> None:
        app = TopApp(FakeSource(SNAPSHOT), interval=3600)
        async with app.run_test(size=(200, 20)) as pilot:
            await pilot.pause()
            assert column(app, 1) == ["camera", "detector", "actuator"]  # CPU ▼
            table = app.query_one(DataTable)
            labels = [str(c.label) for c in table.columns.values()]
            assert "CPU% ▼" in labels and "QUEUE" in labels and "I/O WRITE (MB/s)" in labels
            assert column(app, 2) == ["Running", "Degraded", "Running"]
            await pilot.press("m")
            assert column(app, 1) == ["detector", "actuator", "camera"]
            await pilot.press("n")
            assert column(app, 1) == ["detector", "camera", "actuator"]  # name ▼
            await pilot.press("n")
            assert column(app, 1) == ["actuator", "camera", "detector"]  # name ▲
            await pilot.press("c")
            assert column(app, 1) == ["camera", "detector", "actuator"]

    run(scenario)


@pytest.mark.timeout(60)
def test_selection_moves_wraps_and_follows_the_node() -> None:
    async def scenario() -> None:
        app = TopApp(FakeSource(SNAPSHOT), interval=3600)
        async with app.run_test(size=(200, 20)) as pilot:
            await pilot.pause()
            assert app.selected_node == "camera"
            assert column(app, 0) == [MARKER, "", ""]
            await pilot.press("j")
            assert app.selected_node == "detector"
            await pilot.press("down", "down")
            assert app.selected_node == "camera"  # wrapped
            await pilot.press("k")
            assert app.selected_node == "actuator"  # wrapped backwards
            await pilot.press("up")
            assert app.selected_node == "detector"
            await pilot.press("n")  # re-sorting keeps the selected node
            assert app.selected_node == "detector"
            assert column(app, 0) == [MARKER, "", ""]
            assert app.query_one(DataTable).cursor_row == 0

    run(scenario)


@pytest.mark.timeout(60)
def test_refresh_key_fetches_and_errors_keep_the_rows() -> None:
    async def scenario() -> None:
        source = FakeSource(SNAPSHOT[:1])
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(200, 20)) as pilot:
            await pilot.pause()
            assert source.calls == 1 and column(app, 1) == ["camera"]
            source.nodes = SNAPSHOT
            source.fetched.clear()
            await pilot.press("r")
            await asyncio.wait_for(source.fetched.wait(), 10)
            await pilot.pause()
            assert source.calls == 2 and len(column(app, 1)) == 3

            async def broken() -> list[NodeInfo]:
                raise ConnectionError("coordinator gone")

            app._fetch = broken
            await pilot.press("r")
            await pilot.pause()
            assert app.error == "coordinator gone" and len(column(app, 1)) == 3
            await pilot.press("q")
        assert app.return_code == 0

    run(scenario)


@pytest.mark.timeout(60)
def test_escape_quits_and_empty_snapshot_is_fine() -> None:
    async def scenario() -> None:
        source = FakeSource([])
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(120, 10)) as pilot:
            await pilot.pause()
            table = app.query_one(DataTable)
            assert source.calls == 1 and table.row_count == 0
            assert app.selected_node is None and app.error is None
            labels = [str(c.label) for c in table.columns.values()]
            assert labels[1] == "NODE" and "CPU% ▼" in labels  # headers without rows
            await pilot.press("j", "n")  # moving in an empty table is a no-op; sorting works
            assert app.selected_node is None and table.row_count == 0
            labels = [str(c.label) for c in table.columns.values()]
            assert "NODE ▼" in labels and "CPU%" in labels
            assert app.return_code is None  # still running
            await pilot.press("escape")
            await pilot.pause()
            assert app.return_code == 0  # quit by escape, before run_test shuts it down
        assert app.return_code == 0

    run(scenario)
