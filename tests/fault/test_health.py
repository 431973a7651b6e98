"""The health check under `dora run`: a hung node is killed and restarted, an idle one is not."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.fault.helpers import seen_or_wait, stamp, write_flow
from tests.procs import DoraProcess

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
INTERVAL = 0.2
FLOW = f"""
health_check_interval: {INTERVAL}
nodes:
  - id: hung
    path: nodes/hung.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [out]
    restart_policy: on-failure
    health_check_timeout: {TIMEOUT}
  - id: idle
    path: nodes/idle.py
    inputs:
      never: hung/out
    health_check_timeout: 0.3
"""


@pytest.mark.timeout(60)
def test_a_hung_node_is_killed_and_restarted_an_idle_one_is_not(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, FLOW)
    dora = DoraProcess(["run", str(flow)])
    try:
        stuck = seen_or_wait(dora, "hung: stuck")
        seen_or_wait(dora, "node hung showed no activity")
        killed = time.time()
        seen_or_wait(dora, "hung: start restart=1")
        # silent since `stuck`: never killed before the health-check timeout
        assert killed - stamp(stuck) >= TIMEOUT
        seen_or_wait(dora, "restarting it in 0.00 s")
        dora.proc.send_signal(signal.SIGINT)
        assert dora.wait(timeout=30) == 130, dora.output
        # idle waited in next() all along (its 0.3 s timeout passed many times): alive
        assert dora.output.count("idle: start") == 1, dora.output
        assert "node idle showed no activity" not in dora.output
        assert "idle: stopped" in dora.output
    finally:
        dora.kill_tree()
