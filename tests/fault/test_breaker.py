"""The input_timeout circuit breaker under `dora run`."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fault.helpers import seen_or_wait, stamp, write_flow
from tests.procs import DoraProcess

pytestmark = pytest.mark.integration

TIMEOUT = 0.3
FLOW = f"""
nodes:
  - id: bursty
    path: nodes/bursty.py
    env:
      QUIET: "1.2"
    inputs:
      tick: dora/timer/millis/20
    outputs: [data]
  - id: watcher
    path: nodes/watcher.py
    inputs:
      data:
        source: bursty/data
        input_timeout: {TIMEOUT}
"""


@pytest.mark.timeout(60)
def test_input_timeout_fires_once_and_recovery_delivers_data_then_recovered(
    tmp_path: Path,
) -> None:
    flow = write_flow(tmp_path, FLOW)
    dora = DoraProcess(["run", str(flow)])
    try:
        seen_or_wait(dora, "watcher: INPUT data 12")  # well after the recovery
        dora.proc.send_signal(signal.SIGINT)
        assert dora.wait(timeout=30) == 130, dora.output
        mark = "watcher: watcher: "  # the node's name, then its own prefix
        events = [line.split(mark, 1)[1] for line in dora.lines if mark in line]
        kinds = [event.split(" t=")[0] for event in events]
        kinds = kinds[: kinds.index("STOP MANUAL")]  # then the stop closes the input for good
        # data 0..4, one INPUT_CLOSED during the 1.2 s quiet (4 timeouts long), then the
        # first new message, then INPUT_RECOVERED, then data again
        closed = kinds.index("INPUT_CLOSED data")
        assert kinds[:closed] == [f"INPUT data {n}" for n in range(5)], kinds
        assert kinds[closed + 1 : closed + 3] == ["INPUT data 5", "INPUT_RECOVERED data"], kinds
        assert kinds.count("INPUT_CLOSED data") == 1, kinds
        assert kinds.count("INPUT_RECOVERED data") == 1, kinds
        assert kinds[closed + 3 : closed + 10] == [f"INPUT data {n}" for n in range(6, 13)]
        # it fired after the last message, never before a whole timeout of silence
        silence = stamp(events[closed]) - stamp(events[closed - 1])
        assert silence >= TIMEOUT, silence
        assert "input `data` timed out (input_timeout)" in dora.output
    finally:
        dora.kill_tree()
