"""``DataflowBuilder`` checks input options as dora-rs's builder does (issue 14 item 4):
bad values fail at ``add_input``, good ones produce a dataflow that runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dora.builder import DataflowBuilder
from tests.procs import run_dora

SOURCE = """
import pyarrow as pa
from dora import Node

node = Node()
for i, event in enumerate(node):
    if event["type"] == "INPUT":
        node.send_output("n", pa.array([i]))
        if i >= 3:
            break
"""

SINK = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("sink: got", event["value"].to_pylist(), flush=True)
"""


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"queue_policy": "drop_newest"}, ValueError, "queue_policy must be one of"),
        ({"queue_policy": "Backpressure"}, ValueError, "got 'Backpressure'"),
        ({"queue_policy": ""}, ValueError, "queue_policy must be one of"),
        ({"queue_size": 0}, ValueError, "queue_size must be >= 1, got 0"),
        ({"queue_size": -5}, ValueError, "queue_size must be >= 1, got -5"),
        ({"queue_size": "10"}, TypeError, "queue_size must be an int"),
        ({"queue_size": 2.5}, TypeError, "queue_size must be an int"),
    ],
)
def test_add_input_refuses_bad_queue_options(
    kwargs: dict[str, object], error: type[Exception], words: str
) -> None:
    flow = DataflowBuilder("bad")
    node = flow.add_node("sink").path("sink.py")
    with pytest.raises(error, match=words):
        node.add_input("n", "source/n", **kwargs)  # type: ignore[arg-type]
    assert "inputs" not in node.to_dict()  # nothing half-added


@pytest.mark.integration
@pytest.mark.timeout(90)
@pytest.mark.parametrize("policy", ["drop_oldest", "backpressure"])
def test_a_built_dataflow_with_valid_options_runs(tmp_path: Path, policy: str) -> None:
    (tmp_path / "source.py").write_text(SOURCE)
    (tmp_path / "sink.py").write_text(SINK)
    with DataflowBuilder("ok") as flow:
        source = flow.add_node("source").path("source.py")
        source.add_input("tick", "dora/timer/millis/20")
        numbers = source.add_output("n")
        sink = flow.add_node("sink").path("sink.py")
        sink.add_input("n", numbers, queue_size=1, queue_policy=policy)
        flow.to_yaml(str(tmp_path / "flow.yml"))
    result = run_dora(["run", str(tmp_path / "flow.yml"), "--stop-after", "60s"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sink: got" in result.stdout + result.stderr
