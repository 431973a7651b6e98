"""An operator's error result (``result.error`` set) fails its runtime node, with the
operator's name and message in the run's summary; the other operators are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import compile_operator, run_to_end, write_files

pytestmark = pytest.mark.integration

FLOW = """nodes:
  - id: rt
    operators:
      - id: bad
        shared-library: build/failing
        inputs:
          tick: dora/timer/millis/30
      - id: relay
        shared-library: build/librelay.so
        inputs:
          tick: dora/timer/millis/1000
        outputs: [ticks, echo]
"""


@pytest.mark.timeout(90)
def test_an_error_result_fails_the_node_naming_the_operator(tmp_path: Path) -> None:
    compile_operator("failing", tmp_path)
    compile_operator("relay", tmp_path)
    write_files(tmp_path, {"flow.yml": FLOW})
    code, dora = run_to_end(tmp_path / "flow.yml")
    output = dora.output
    assert code != 0, output
    summary = output[output.index("failed:") :]
    assert "node `rt` failed: exit code 1" in summary, output
    assert (
        "node `rt`: operator `bad` returned an error: the second input is one too many" in summary
    ), output
    assert "rt: relay dropped" in output  # the other operator still got to clean up
