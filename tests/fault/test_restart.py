"""Restart policies under `dora run`: real node processes, real signals."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.fault.helpers import field, seen_or_wait, stamp, write_flow
from tests.procs import DoraProcess, wait_gone

pytestmark = pytest.mark.integration

KILL_FLOW = """
nodes:
  - id: flaky
    path: nodes/flaky.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [value]
    restart_policy: on-failure
    restart_delay: 0.5
  - id: counter
    path: nodes/counter.py
    inputs:
      tick: dora/timer/millis/5
    outputs: [n]
  - id: sink
    path: nodes/sink.py
    inputs:
      value: flaky/value
      n:
        source: counter/n
        queue_policy: backpressure
"""


@pytest.mark.timeout(60)
def test_kill_9_under_on_failure_restarts_and_loses_nothing_else(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, KILL_FLOW)
    dora = DoraProcess(["run", str(flow)])
    try:
        first = dora.wait_for_line("flaky: start")
        assert "restart=0 is_restart=False" in first
        dora.wait_for_line("sink: value restart=0")
        old = psutil.Process(int(field(first, "pid")))
        killed_at = time.time()
        old.send_signal(signal.SIGKILL)
        second = dora.wait_for_line("flaky: start", timeout=10)
        assert "restart=1 is_restart=True" in second
        assert int(field(second, "pid")) != old.pid
        # the backoff is honoured (never skipped); how late it comes depends on the load
        assert stamp(second) - killed_at >= 0.5
        notice = seen_or_wait(dora, "sink: NODE_RESTARTED flaky")
        assert killed_at <= stamp(notice) < stamp(second)
        seen_or_wait(dora, "sink: value restart=1", timeout=10)  # reconnected to its receiver
        dora.proc.send_signal(signal.SIGINT)
        code = dora.wait(timeout=30)
        assert code == 130, dora.output  # interrupted, and no node failed in the end
        summary = next(line for line in dora.lines if "sink: numbers up to" in line)
        assert "gaps=0" in summary, dora.output
        assert int(summary.split("up to ")[1].split()[0]) > 100
        assert dora.output.count("sink: NODE_RESTARTED") == 1
        assert "GAP" not in dora.output
    finally:
        dora.kill_tree()


CRASH_FLOW = """
nodes:
  - id: crasher
    path: nodes/crasher.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [value]
    restart_policy: on-failure
    max_restarts: 2
    restart_delay: 0.5
  - id: counter
    path: nodes/counter.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [n]
  - id: sink
    path: nodes/sink.py
    inputs:
      value: crasher/value
      n: counter/n
"""


@pytest.mark.timeout(60)
def test_max_restarts_gives_up_after_three_starts_with_doubling_gaps(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, CRASH_FLOW)
    dora = DoraProcess(["run", str(flow)])
    try:
        dora.wait_for_line("not restarted: it reached max_restarts (2)", timeout=20)
        seen_or_wait(dora, "sink: NODE_FAILED crasher inputs=['value']")
        dora.proc.send_signal(signal.SIGINT)
        code = dora.wait(timeout=30)
        assert code == 1, dora.output
        starts = [stamp(line) for line in dora.lines if "crasher: start" in line]
        exits = [stamp(line) for line in dora.lines if "crasher: exit" in line]
        assert len(starts) == 3 and len(exits) == 3, dora.output
        gaps = [starts[1] - exits[0], starts[2] - exits[1]]
        # each restart waits at least its delay, and the delay doubles
        assert gaps[0] >= 0.5 and gaps[1] >= 1.0, gaps
        connected = [line for line in dora.lines if "crasher: connected" in line]
        assert [f"restart={n}" in line for n, line in enumerate(connected)] == [True] * 3
        assert dora.output.count("sink: NODE_RESTARTED crasher") == 2
        # the final report names the node and quotes its traceback (lines printed before
        # it are in the node's output, labelled as its stderr)
        assert "node `crasher` failed: exit code 1" in dora.output
        assert "| RuntimeError: boom 2" in dora.output
        assert "STDERR crasher: crasher: something broke in run 2" in dora.output
        assert (
            "not restarted: it reached max_restarts (2) (2 restart(s) so far); "
            "last stderr line: RuntimeError: boom 2" in dora.output
        )
    finally:
        dora.kill_tree()


POLICY_FLOW = """
nodes:
  - id: quitter
    path: nodes/quitter.py
    inputs:
      tick: dora/timer/millis/20
    restart_policy: {policy}
    max_restarts: 1
  - id: counter
    path: nodes/counter.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [n]
"""

QUITTER = """
from dora import Node

node = Node()
print(f"quitter: start restart={node.restart_count()}", flush=True)
for event in node:
    if event["type"] == "INPUT":
        break
print("quitter: clean exit", flush=True)
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("policy", "starts"), [("on-failure", 1), ("always", 2)])
def test_a_clean_exit_restarts_only_under_always(tmp_path: Path, policy: str, starts: int) -> None:
    flow = write_flow(tmp_path, POLICY_FLOW.format(policy=policy))
    (tmp_path / "nodes" / "quitter.py").write_text(QUITTER)
    dora = DoraProcess(["run", str(flow)])
    try:
        if policy == "always":
            dora.wait_for_line("not restarted: it reached max_restarts (1)", timeout=20)
        else:
            dora.wait_for_line("not restarted: it exited successfully", timeout=20)
        dora.proc.send_signal(signal.SIGINT)
        assert dora.wait(timeout=30) == 130, dora.output
        assert dora.output.count("quitter: start") == starts, dora.output
    finally:
        dora.kill_tree()


STOP_FLOW = """
nodes:
  - id: flaky
    path: nodes/flaky.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [value]
    restart_policy: always
  - id: sink
    path: nodes/sink.py
    inputs:
      value: flaky/value
"""


@pytest.mark.timeout(60)
def test_no_restart_once_a_stop_was_requested(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, STOP_FLOW)
    dora = DoraProcess(["run", str(flow), "--grace-duration", "2s"])
    try:
        dora.wait_for_line("sink: value restart=0")
        nodes = dora.descendants()
        dora.proc.send_signal(signal.SIGINT)
        assert dora.wait(timeout=30) == 130, dora.output
        assert dora.output.count("flaky: start") == 1, dora.output
        assert "restarting it" not in dora.output
        assert not wait_gone(nodes, timeout=5)
    finally:
        dora.kill_tree()
