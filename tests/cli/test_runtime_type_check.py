"""DORA_RUNTIME_TYPE_CHECK: sent data is checked against `output_types` at run time."""

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
    output_types:
      value: std/core/v1/Float64
  - id: sink
    path: sink.py
    inputs:
      value: source/value
"""

SOURCE = """
import pyarrow as pa
from dora import Node

node = Node()
node.send_output("value", pa.array([1, 2, 3], type=pa.int64()))
print("source: sent", flush=True)
"""

SINK = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print(f"sink: got {event['value'].type}", flush=True)
"""


def write(tmp_path: Path) -> Path:
    (tmp_path / "source.py").write_text(SOURCE)
    (tmp_path / "sink.py").write_text(SINK)
    flow = tmp_path / "dataflow.yml"
    flow.write_text(FLOW)
    return flow


@pytest.mark.timeout(60)
def test_error_mode_fails_the_sending_node(tmp_path: Path) -> None:
    result = run_dora(["run", str(write(tmp_path))], env={"DORA_RUNTIME_TYPE_CHECK": "error"})
    assert result.returncode == 1, result.stderr
    assert "node `source` failed" in result.stderr
    assert "annotated `std/core/v1/Float64` but sent `int64`" in result.stderr
    assert "sink: got" not in result.stdout + result.stderr


@pytest.mark.timeout(60)
def test_warn_mode_logs_and_delivers(tmp_path: Path) -> None:
    result = run_dora(["run", str(write(tmp_path))], env={"DORA_RUNTIME_TYPE_CHECK": "warn"})
    assert result.returncode == 0, result.stderr
    assert "annotated `std/core/v1/Float64` but sent `int64`" in result.stdout  # node's WARN
    assert "sink: got int64" in result.stdout


@pytest.mark.timeout(60)
def test_off_by_default(tmp_path: Path) -> None:
    result = run_dora(["run", str(write(tmp_path))], env={"DORA_RUNTIME_TYPE_CHECK": ""})
    assert result.returncode == 0, result.stderr
    assert "annotated" not in result.stdout + result.stderr
    assert "sink: got int64" in result.stdout
