"""`dora node info` against a real coordinator and daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import started_uuid, write_flow
from tests.coordinator.helpers import wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration


@pytest.mark.timeout(90)
def test_node_info_shows_status_wiring_and_metrics(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "info"], env=env))
    try:

        def running_info() -> dict[str, object] | None:
            result = run_dora(["node", "info", "listener", "-d", "info", "-f", "json"], env=env)
            assert result.returncode == 0, result.stderr
            facts = json.loads(result.stdout)
            return facts if facts["status"] == "Running" and facts["pid"] else None

        facts = wait_until(running_info, what="listener running")
        assert facts["node"] == "listener" and facts["dataflow"] == uuid
        assert facts["inputs"] == ["count <- ticker/count"]
        assert facts["outputs"] == []
        assert facts["restarts"] == 0

        table = run_dora(["node", "info", "ticker", "-d", uuid], env=env)
        assert table.returncode == 0, table.stderr
        assert "OUTPUTS" in table.stdout and "count" in table.stdout
        assert "tick <- dora/timer/millis/20" in table.stdout

        missing = run_dora(["node", "info", "nosuch", "-d", uuid], env=env)
        assert missing.returncode == 1
        assert "no node `nosuch` (nodes: listener, ticker)" in missing.stderr
        assert "Traceback" not in missing.stderr
    finally:
        run_dora(["stop", uuid, "--force"], env=env)


SLOW = """
import time
from dora import Node

node = Node()
event = node.next()
print("slow: got one, now busy", flush=True)
time.sleep(60)  # busy in its own code: what arrives meanwhile waits in the queue
"""


@pytest.mark.timeout(90)
def test_node_info_shows_the_messages_waiting_in_a_busy_node(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "endless")
    (flow.parent / "listener.py").write_text(SLOW)
    text = flow.read_text().replace(
        "count: ticker/count", "count:\n        source: ticker/count\n        queue_size: 1000"
    )
    flow.write_text(text)
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    try:

        def backlog() -> int | None:
            result = run_dora(["node", "info", "listener", "-d", uuid, "-f", "json"], env=env)
            assert result.returncode == 0, result.stderr
            pending = json.loads(result.stdout)["pending_messages"]
            return pending if pending and pending >= 20 else None

        assert wait_until(backlog, timeout=30, what="a reported backlog") >= 20
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
