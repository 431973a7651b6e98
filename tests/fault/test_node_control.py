"""`dora node list/restart/stop` and daemon death, with a real coordinator and daemon."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

from dora_cli.client import Target, call
from dora_message import cli_to_coordinator as cli
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.fault.helpers import tree, wait_dead, write_flow
from tests.procs import abstract_sockets, dataflow_leftovers, run_dora

pytestmark = pytest.mark.integration

FLOW = """
nodes:
  - id: flaky
    path: nodes/flaky.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [value]
  - id: counter
    path: nodes/counter.py
    inputs:
      tick: dora/timer/millis/10
    outputs: [n]
  - id: sink
    path: nodes/sink.py
    inputs:
      value: flaky/value
      n:
        source: counter/n
        queue_policy: backpressure
  - id: bursty
    path: nodes/bursty.py
    env:
      QUIET: "1000"
    inputs:
      tick: dora/timer/millis/20
    outputs: [data]
  - id: watcher
    path: nodes/watcher.py
    inputs:
      data:
        source: bursty/data
        input_timeout: 0.3
  - id: crasher
    path: nodes/crasher.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [value]
    restart_policy: on-failure
    restart_delay: 60
  - id: broken
    path: nodes/crasher.py
    inputs:
      tick: dora/timer/millis/50
  - id: stubborn
    path: nodes/stubborn.py
"""


def nodes(port: int, uuid: str) -> dict[str, dict[str, object]]:
    """`dora node list -f json`, by node id."""
    result = run_dora(
        ["node", "list", "-d", uuid, "-f", "json"], env={"DORA_COORDINATOR_PORT": str(port)}
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {str(row["node"]): row for row in rows}


def statuses_are(port: int, uuid: str, wanted: dict[str, str]) -> dict[str, dict[str, object]]:
    rows = nodes(port, uuid)
    ok = all(rows.get(n, {}).get("status") == s for n, s in wanted.items())
    return rows if ok else {}


def log_of(flow: Path, uuid: str, node: str) -> str:
    path = flow.parent / "out" / uuid / f"log_{node}.jsonl"
    return path.read_text() if path.exists() else ""


@pytest.mark.timeout(120)
def test_node_statuses_restart_stop_and_daemon_death(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = {"DORA_COORDINATOR_PORT": str(port)}
    daemon = start_daemon(port, cwd=tmp_path)
    procs.append(daemon)
    flow = write_flow(tmp_path / "flow", FLOW)
    started = run_dora(["start", str(flow), "--detach"], env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    uuid = started.stdout.split("dataflow started:", 1)[1].split()[0]

    # Running, Degraded (circuit breaker open), Restarting (60 s backoff), Failed
    wanted = {
        "flaky": "Running",
        "watcher": "Degraded",
        "crasher": "Restarting",
        "broken": "Failed",
    }
    rows = wait_until(lambda: statuses_are(port, uuid, wanted), timeout=30, what=str(wanted))
    assert rows["watcher"]["broken_inputs"] == ["data"]
    assert rows["crasher"]["restarts"] == 1 and rows["crasher"]["pid"] is None
    old_pid = rows["flaky"]["pid"]
    assert isinstance(old_pid, int) and rows["flaky"]["restarts"] == 0
    table = run_dora(["node", "list", "-d", uuid], env=env)
    assert "NODE" in table.stdout and "RESTARTS" in table.stdout and "Degraded" in table.stdout

    # restart one node: a new process, its receiver is told and reconnected to
    restarted = run_dora(["node", "restart", "flaky", "-d", uuid, "--grace", "1s"], env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert "Node `flaky` restart initiated" in restarted.stdout
    wait_until(lambda: "sink: value restart=1" in log_of(flow, uuid, "sink"), what="restart")
    sink_log = log_of(flow, uuid, "sink")
    assert "sink: NODE_RESTARTED flaky" in sink_log
    assert "INPUT_CLOSED value" not in sink_log  # its input stayed open across the restart
    rows = wait_until(lambda: (r := nodes(port, uuid))["flaky"]["restarts"] == 1 and r)
    assert rows["flaky"]["pid"] not in (None, old_pid)
    assert rows["flaky"]["status"] == "Running"

    # stop one node for good: the rest of the dataflow goes on
    stopped = run_dora(["node", "stop", "counter", "-d", uuid, "--grace", "1s"], env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "Node `counter` stopped" in stopped.stdout
    assert "sink: INPUT_CLOSED n" in wait_until(
        lambda: "INPUT_CLOSED n" in log_of(flow, uuid, "sink") and log_of(flow, uuid, "sink")
    )
    wait_until(lambda: statuses_are(port, uuid, {"counter": "Stopped", "flaky": "Running"}))
    bad = run_dora(["node", "stop", "nosuch", "-d", uuid], env=env)
    assert bad.returncode == 1 and "no node `nosuch`" in bad.stderr
    listing = call(Target(port=port), cli.ListDataflows())
    assert [d.status for d in listing.dataflows] == ["Running"]

    # SIGKILL of the daemon: every node process and grandchild is gone within 2 s
    ready = (flow.parent / "out" / uuid / "log_stubborn.jsonl").read_text()
    child = int(re.search(r"stubborn: ready pid=\d+ child=(\d+)", ready).group(1))  # type: ignore[union-attr]
    everything = tree(daemon.pid)
    assert child in {p.pid for p in everything}
    # daemon, 5 live nodes, stubborn's child (a node may have a short-lived helper too)
    assert len(everything) >= 7, everything
    os.kill(daemon.pid, signal.SIGKILL)
    # the nodes' watchdogs fire 2 s after the daemon's EOF; how soon after depends on load
    alive = wait_dead(everything, timeout=20)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
    # a node (re)started after the snapshot above is killed too, a moment later
    wait_until(lambda: not abstract_sockets(uuid), timeout=20, what="sockets gone")
    assert not dataflow_leftovers(uuid)
