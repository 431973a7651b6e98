"""Stops and dying parents under `dora run`: grace ladder, process trees, SIGKILL of run."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.coordinator.helpers import wait_until
from tests.fault.helpers import (
    dataflow_ids,
    field,
    seen_or_wait,
    tree,
    wait_dead,
    write_flow,
)
from tests.procs import DoraProcess, abstract_sockets, dataflow_leftovers

pytestmark = pytest.mark.integration

GRACE = 2.0
LADDER_FLOW = """
nodes:
  - id: stubborn
    path: nodes/stubborn.py
  - id: deaf
    path: nodes/deaf.py
"""


@pytest.mark.timeout(60)
def test_a_node_ignoring_stop_and_sigterm_is_gone_at_grace_times_1_5(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, LADDER_FLOW)
    dora = DoraProcess(["run", str(flow), "--grace-duration", f"{GRACE}s"])
    try:
        ready = seen_or_wait(dora, "stubborn: ready")
        deaf = psutil.Process(int(field(seen_or_wait(dora, "deaf: ready"), "pid")))
        stubborn = psutil.Process(int(field(ready, "pid")))
        child = psutil.Process(int(field(ready, "child")))  # ignores SIGTERM as well
        started = time.monotonic()
        dora.proc.send_signal(signal.SIGINT)
        # the cooperative-on-SIGTERM node goes at the grace, the stubborn tree at 1.5 x:
        # in that order, and neither before its step of the ladder
        assert not wait_dead([deaf], timeout=30)
        deaf_gone = time.monotonic() - started
        assert not wait_dead([stubborn, child], timeout=30)
        stubborn_gone = time.monotonic() - started
        assert deaf_gone >= GRACE - 0.1, deaf_gone
        assert stubborn_gone >= max(deaf_gone, GRACE * 1.5 - 0.1), (deaf_gone, stubborn_gone)
        assert dora.wait(timeout=10) == 1, dora.output
        assert "did not stop within 2.0 s: SIGTERM" in dora.output
        assert "node `stubborn` failed" in dora.output
        assert "did not stop within the grace period" in dora.output
        assert "node `deaf` failed" not in dora.output  # SIGTERM in a planned stop is clean
    finally:
        dora.kill_tree()


KILL_RUN_FLOW = """
nodes:
  - id: stubborn
    path: nodes/stubborn.py
  - id: wrapped
    path: nodes/wrapper.sh
    inputs:
      tick: dora/timer/millis/50
  - id: deaf
    path: nodes/deaf.py
"""

WRAPPER = """#!/bin/sh
# a node that is not Python: a shell script whose children are the real work
sleep 1000 &
echo "wrapper: ready sleeper=$!"
{python} -u -c "
from dora import Node
node = Node()
print('wrapped: connected', flush=True)
for event in node:
    pass
"
"""


def write_kill_flow(tmp_path: Path) -> Path:
    flow = write_flow(tmp_path, KILL_RUN_FLOW)
    wrapper = tmp_path / "nodes" / "wrapper.sh"
    wrapper.write_text(WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o755)
    return flow


def start_all(dora: DoraProcess) -> list[psutil.Process]:
    """Wait until every node (and its children) runs; every process of the run."""
    for line in ("stubborn: ready", "deaf: ready", "wrapper: ready", "wrapped: connected"):
        seen_or_wait(dora, line)
    procs = tree(dora.proc.pid)
    assert len(procs) >= 7, procs  # run, 3 nodes, stubborn's child, sleep, wrapped python
    return procs


@pytest.mark.timeout(60)
def test_sigkill_of_dora_run_takes_every_node_process_down_within_2s(tmp_path: Path) -> None:
    flow = write_kill_flow(tmp_path)
    dora = DoraProcess(["run", str(flow), "--grace-duration", "0.5s"])
    try:
        procs = start_all(dora)
        (dataflow_id,) = dataflow_ids(tmp_path)
        assert abstract_sockets(dataflow_id)  # the run's sockets exist while it runs
        os.kill(dora.proc.pid, signal.SIGKILL)
        alive = wait_dead(procs, timeout=20)  # the nodes' watchdog fires 2 s after the EOF
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
        # the kernel drops a dead process's sockets as it reaps it: under load, a moment later
        wait_until(lambda: not abstract_sockets(dataflow_id), what="the run's sockets gone")
        assert not dataflow_leftovers(dataflow_id)
    finally:
        dora.kill_tree()
    # the next run on the same machine and directory starts and stops cleanly
    again = DoraProcess(["run", str(flow), "--grace-duration", "0.5s"])
    try:
        procs = start_all(again)
        again.proc.send_signal(signal.SIGINT)
        assert again.wait(timeout=30) == 1, again.output  # stubborn is killed by the ladder
        assert not wait_dead(procs, timeout=5)
        second = next(d for d in dataflow_ids(tmp_path) if d != dataflow_id)
        assert not abstract_sockets(second) and not abstract_sockets(dataflow_id)
        assert not dataflow_leftovers(second) and not dataflow_leftovers(dataflow_id)
    finally:
        again.kill_tree()


@pytest.mark.timeout(60)
def test_a_second_ctrl_c_kills_at_once(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, LADDER_FLOW)
    # a grace far longer than the test: only the second Ctrl-C can end the stubborn tree
    dora = DoraProcess(["run", str(flow), "--grace-duration", "600s"])
    try:
        ready = seen_or_wait(dora, "stubborn: ready")
        stubborn = psutil.Process(int(field(ready, "pid")))
        child = psutil.Process(int(field(ready, "child")))
        dora.proc.send_signal(signal.SIGINT)
        dora.wait_for_line("press Ctrl-C again")
        dora.proc.send_signal(signal.SIGINT)
        assert not wait_dead([stubborn, child], timeout=30)
        assert dora.wait(timeout=30) != 0
    finally:
        dora.kill_tree()
