"""A node that fails with ``sys.exit(1)`` is a failure: restarted under ``on-failure``,
its outputs stay open for its receivers across incarnations (issue 14 item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault.helpers import write_flow
from tests.procs import DoraProcess

pytestmark = pytest.mark.integration

FLOW = """
nodes:
  - id: quitter
    path: nodes/quitter.py
    inputs:
      tick: dora/timer/millis/20
    outputs: [n]
    restart_policy: on-failure
    max_restarts: 3
  - id: tally
    path: nodes/tally.py
    inputs:
      n: quitter/n
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["sys.exit", "os._exit", "raise"])
def test_sys_exit_1_restarts_and_keeps_the_consumer_reading(tmp_path: Path, how: str) -> None:
    flow = write_flow(tmp_path, FLOW)
    dora = DoraProcess(["run", str(flow)], env={"QUIT_WITH": how})
    try:
        dora.wait_for_line("tally: got", timeout=60)
        code = dora.wait(timeout=30)
        out = dora.output
        assert f"quitter: {how}(1) restart=0" in out
        assert f"quitter: {how}(1) restart=1" in out
        assert "quitter: start restart=2" in out
        assert f"tally: got 20 numbers {list(range(20))}" in out, out
        # the consumer never saw its input close while the producer came back
        assert "tally: INPUT_CLOSED" not in out, out
        assert out.count("tally: NODE_RESTARTED quitter") == 2, out
        assert code == 0, out  # the last incarnation ended cleanly
    finally:
        dora.kill_tree()


@pytest.mark.timeout(60)
def test_sys_exit_1_without_a_restart_policy_fails_the_node(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, FLOW.replace("on-failure", "never"))
    dora = DoraProcess(["run", str(flow)])
    try:
        code = dora.wait(timeout=45)
        out = dora.output
        assert code != 0, out
        assert "quitter: sys.exit(1) restart=0" in out
        assert "node `quitter` failed: exit code 1" in out, out
        # with nobody to restart it, the receiver's input closes behind the data
        assert "tally: INPUT_CLOSED n count=7" in out, out
    finally:
        dora.kill_tree()
