"""The Arrow helpers beyond dora-rs: a C operator reads int64 arrays from a Python node
with ``dora_read_input_arrow`` (zero-copy, including one big enough to travel through
shared memory, read in place in the sender's segment, and a sliced one with an offset),
keeps each until its next event, and sends the doubled values with
``dora_send_operator_output_arrow``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.c_api.helpers import compile_operator, run_to_end, sink_lines, write_files

pytestmark = pytest.mark.integration

SOURCE = """import pyarrow as pa
from dora import Node

batches = [
    pa.array([1, 2, 3], type=pa.int64()),
    pa.array(range(10), type=pa.int64()).slice(2, 5),
    pa.array(range(100_000), type=pa.int64()),  # 800 kB: through shared memory
]
node = Node()
for event in node:
    if event["type"] == "INPUT":
        node.send_output("numbers", batches.pop(0))
        if not batches:
            break
"""

SINK = """from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        value = event["value"]
        values = value.to_pylist()
        print(f"sink: doubled {value.type} n={len(values)} sum={sum(values)} head={values[:5]}",
              flush=True)
"""

ARROW_FLOW = """nodes:
  - id: source
    path: source.py
    inputs:
      tick: dora/timer/millis/30
    outputs: [numbers]
  - id: rt
    operators:
      - id: doubler
        shared-library: build/doubler
        inputs:
          numbers: source/numbers
        outputs: [doubled]
  - id: sink
    path: sink.py
    inputs:
      doubled: rt/doubler/doubled
"""


@pytest.mark.timeout(90)
def test_a_c_operator_doubles_int64_arrays_through_the_arrow_helpers(tmp_path: Path) -> None:
    compile_operator("doubler", tmp_path)
    write_files(tmp_path, {"flow.yml": ARROW_FLOW, "source.py": SOURCE, "sink.py": SINK})
    started_ns = time.time_ns()
    code, dora = run_to_end(tmp_path / "flow.yml")
    output = dora.output
    assert code == 0, output
    big = 100_000
    assert sink_lines(dora.lines, "doubled") == [
        "int64 n=3 sum=12 head=[2, 4, 6]",
        "int64 n=5 sum=40 head=[4, 6, 8, 10, 12]",
        f"int64 n={big} sum={big * (big - 1)} head=[0, 2, 4, 6, 8]",
    ], output
    reads = [line.split("doubler: ", 1)[1] for line in dora.lines if "doubler: " in line]
    assert len(reads) == 3, output
    # zero-copy: the large array is read where the sender wrote it, its memfd segment
    assert "memfd:" in reads[2], reads[2]
    # dora_read_input_timestamp_ns: the message's time, in ns since the epoch
    stamps = [int(read.rsplit(" ", 1)[1]) for read in reads]
    assert all(started_ns - 10**9 < stamp < time.time_ns() for stamp in stamps), stamps
    assert "error" not in output.lower()
