"""Parameters set with ``dora param set`` reach a restarted node again, and ``dora node
info`` shows a node's path, restart policy and the subscribers of each output (issue
14 item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.coordinator.bounds import start_coordinator_any_port
from tests.coordinator.helpers import Proc
from tests.procs import DoraProcess, run_dora

pytestmark = pytest.mark.integration

TUNED = """
import pyarrow as pa
from dora import Node

node = Node()
run = node.restart_count()
print(f"tuned: start restart={run}", flush=True)
for event in node:
    if event["type"] == "PARAM_UPDATE":
        print(f"tuned: param {event['id']}={event['value']} restart={run}", flush=True)
    elif event["type"] == "PARAM_DELETED":
        print(f"tuned: deleted {event['id']} restart={run}", flush=True)
    elif event["type"] == "INPUT":
        node.send_output("level", pa.array([run]))
"""
READER = """
from dora import Node

for event in Node():
    pass
"""
FLOW = """
nodes:
  - id: tuned
    path: tuned.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [level, unused]
    restart_policy: on-failure
    max_restarts: 5
    restart_delay: 0.1
  - id: reader
    path: reader.py
    inputs:
      level: tuned/level
      again: tuned/level
"""


@pytest.mark.timeout(150)
def test_params_are_told_again_after_a_restart_and_node_info_shows_the_setup(
    tmp_path: Path,
) -> None:
    (tmp_path / "tuned.py").write_text(TUNED)
    (tmp_path / "reader.py").write_text(READER)
    (tmp_path / "flow.yml").write_text(FLOW)
    coordinator, port = start_coordinator_any_port()
    procs = [coordinator]
    try:
        daemon = Proc("dora_daemon", ["--coordinator-port", str(port)])
        procs.append(daemon)
        daemon.wait_for_line("registered with the coordinator as")
        env = {"DORA_COORDINATOR_PORT": str(port)}
        attached = DoraProcess(
            ["start", str(tmp_path / "flow.yml"), "--name", "tp", "--attach"], env=env
        )
        try:
            attached.wait_for_line("tuned: start restart=0")
            for key, value in (("threshold", "42"), ("mode", '"fast"'), ("gone", "1")):
                result = run_dora(["param", "set", "-d", "tp", "tuned", key, value], env=env)
                assert result.returncode == 0, result.stderr
            attached.wait_for_line("tuned: param gone=1 restart=0")
            deleted = run_dora(["param", "delete", "-d", "tp", "tuned", "gone"], env=env)
            assert deleted.returncode == 0, deleted.stderr
            attached.wait_for_line("tuned: deleted gone restart=0")

            restart = run_dora(["node", "restart", "-d", "tp", "tuned"], env=env)
            assert restart.returncode == 0, restart.stderr
            attached.wait_for_line("tuned: start restart=1")
            told = {
                attached.wait_for_line("tuned: param").rsplit("tuned: ", 1)[1] for _ in range(2)
            }
            assert told == {"param mode=fast restart=1", "param threshold=42 restart=1"}

            info = run_dora(["node", "info", "tuned", "-d", "tp", "-f", "json"], env=env)
            assert info.returncode == 0, info.stderr
            facts = json.loads(info.stdout)
            assert facts["path"] == "tuned.py"
            assert facts["restart_policy"] == "on-failure"
            assert facts["max_restarts"] == 5 and facts["restart_delay"] == 0.1
            assert facts["subscribers"] == {
                "level": ["reader/level", "reader/again"],
                "unused": [],
            }
            table = run_dora(["node", "info", "tuned", "-d", "tp"], env=env)
            assert "level -> reader/level, reader/again" in table.stdout, table.stdout
            assert "unused -> (no subscribers)" in table.stdout
            assert "on-failure" in table.stdout and "tuned.py" in table.stdout
        finally:
            run_dora(["stop", "--name", "tp", "--force"], env=env)
            attached.kill_tree()
    finally:
        for proc in procs:
            proc.kill()
