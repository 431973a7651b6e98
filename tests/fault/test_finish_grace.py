"""finish_grace_secs: a node still running after all its inputs closed is stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import run_dora

pytestmark = pytest.mark.integration

FLOW = """
nodes:
  - id: source
    path: source.py
    outputs: [value]
  - id: lingerer
    path: lingerer.py
    finish_grace_secs: 1.0
    inputs:
      value: source/value
  - id: polite
    path: polite.py
    inputs:
      value: source/value
"""

SOURCE = """
import pyarrow as pa
from dora import Node

node = Node()
for i in range(3):
    node.send_output("value", pa.array([i]))
"""

LINGERER = """
import time
from dora import Node

for event in Node():
    pass
print("lingerer: inputs closed, staying around", flush=True)
while True:
    time.sleep(0.1)
"""

POLITE = """
from dora import Node

for event in Node():
    pass
print("polite: done", flush=True)
"""


@pytest.mark.timeout(60)
def test_a_node_lingering_after_its_inputs_closed_is_stopped_as_a_failure(
    tmp_path: Path,
) -> None:
    for name, text in (("source", SOURCE), ("lingerer", LINGERER), ("polite", POLITE)):
        (tmp_path / f"{name}.py").write_text(text)
    flow = tmp_path / "dataflow.yml"
    flow.write_text(FLOW)
    # without the finish grace the lingerer would keep the run alive past the timeout
    result = run_dora(["run", str(flow), "--grace-duration", "1s"], timeout=50)
    assert result.returncode == 1, result.stderr
    assert "lingerer: inputs closed, staying around" in result.stdout  # node output
    assert "polite: done" in result.stdout
    assert "node `lingerer` failed" in result.stderr
    assert "did not finish within finish_grace_secs" in result.stderr
    assert "node `polite` failed" not in result.stderr
