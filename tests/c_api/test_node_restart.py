"""A C node that exits 1 under ``restart_policy: on-failure`` is restarted and its
receivers' inputs stay open across its incarnations, as for a Python node."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import run_to_end, write_flow

pytestmark = pytest.mark.integration

TALLY = Path(__file__).parent.parent / "fault" / "nodes" / "tally.py"


@pytest.mark.timeout(90)
def test_exit_1_restarts_and_keeps_the_consumer_reading(
    tmp_path: Path, compile_c: CompileC
) -> None:
    quitter = compile_c(["c_quitter.c"], "c_quitter")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: quitter
    path: {quitter}
    inputs:
      tick: dora/timer/millis/20
    outputs: [n]
    restart_policy: on-failure
    max_restarts: 3
  - id: tally
    path: tally.py
    inputs:
      n: quitter/n
""",
        [TALLY],
    )
    code, dora = run_to_end(flow)
    out = dora.output
    assert "quitter: exit(1) restart=0" in out, out
    assert "quitter: exit(1) restart=1" in out, out
    assert "quitter: clean end restart=2" in out, out
    assert f"tally: got 20 numbers {list(range(20))}" in out, out
    # the consumer never saw its input close while the producer came back
    assert "tally: INPUT_CLOSED" not in out, out
    assert out.count("tally: NODE_RESTARTED quitter") == 2, out
    assert code == 0, out
