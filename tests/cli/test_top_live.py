"""`dora top`'s TUI in a pseudo-terminal with its auto-refresh running, on a real
coordinator, daemon and nodes: rows appear, change and go without a key being pressed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import started_uuid, write_flow
from tests.cli.terminal import Terminal
from tests.coordinator.helpers import wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def node_pids(env: dict[str, str]) -> dict[str, int]:
    """Node id -> PID of the running nodes that have been sampled, from `dora top --once`."""
    result = run_dora(["top", "--once"], env=env)
    assert result.returncode == 0, result.stderr
    return {n["node_id"]: n["metrics"]["pid"] for n in json.loads(result.stdout) if n["metrics"]}


@pytest.mark.timeout(180)
def test_top_tui_refreshes_by_itself_while_a_dataflow_runs(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    terminal = Terminal(["top", "--refresh-interval", "1"], env)
    uuid = None
    try:
        terminal.expect("Dora Inspect Top - Refreshing every 1s", timeout=60)
        terminal.expect("No running dataflows\\.", timeout=30)

        flow = write_flow(tmp_path / "flow", "endless")
        uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "topped"], env=env))
        pids = wait_until(lambda: len(node_pids(env)) == 2 and node_pids(env), timeout=60)
        # no key pressed: the timer's refreshes bring the rows, with the real PIDs
        terminal.expect("2 node\\(s\\)", timeout=30)
        for node, pid in pids.items():
            terminal.expect(f"{node}.*?topped.*?{pid}", timeout=30)

        # a restarted node shows up under its new PID, again without a key
        mark = len(terminal.output)
        restarted = run_dora(["node", "restart", "ticker", "-d", uuid, "--grace", "1s"], env=env)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        new_pid = wait_until(
            lambda: (
                node_pids(env).get("ticker") not in (None, pids["ticker"])
                and node_pids(env)["ticker"]
            ),
            timeout=60,
            what="the ticker's new PID",
        )
        terminal.expect(f"ticker.*?topped.*?{new_pid}", timeout=30, after=mark)

        stopped = run_dora(["stop", uuid, "--grace-duration", "5s"], env=env)
        assert stopped.returncode == 0, stopped.stderr
        uuid = None
        mark = len(terminal.output)
        wait_until(lambda: node_pids(env) == {}, timeout=60, what="no node left")
        terminal.expect("No running dataflows\\.", timeout=30, after=mark)

        terminal.send(b"q")
        assert terminal.exit_code(30) == 0
        assert "Traceback" not in terminal.output
    finally:
        terminal.close()
        if uuid is not None:
            run_dora(["stop", uuid, "--force"], env=env)
