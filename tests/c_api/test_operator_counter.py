"""dora-rs's classic C counter operator runs unmodified: compiled as dora-rs compiles it
(``-shared``, the helper library not on the link line: the runtime provides
``dora_read_input_id``, ``dora_read_data``, ``dora_send_operator_output`` & co.), it reads
each message, counts, and sends "The current counter value is N"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import SINK, compile_operator, run_to_end, sink_lines, write_files

pytestmark = pytest.mark.integration

SENDER = """from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT":
        sent += 1
        node.send_output("message", f"hello {sent}".encode())
        if sent == 5:
            break
"""

COUNTER_FLOW = """nodes:
  - id: sender
    path: sender.py
    inputs:
      tick: dora/timer/millis/30
    outputs: [message]
  - id: runtime-node
    operators:
      - id: counter
        shared-library: build/counter
        inputs:
          message: sender/message
        outputs: [counter]
  - id: sink
    path: sink.py
    inputs:
      counter: runtime-node/counter/counter
"""


@pytest.mark.timeout(90)
def test_the_dora_rs_counter_operator_runs_unmodified(tmp_path: Path) -> None:
    compile_operator("counter", tmp_path, link=False)
    write_files(tmp_path, {"flow.yml": COUNTER_FLOW, "sender.py": SENDER, "sink.py": SINK})
    # the sender's 5 messages, then its exit closes the operator's input, whose end
    # closes the sink's: the dataflow finishes by itself
    code, dora = run_to_end(tmp_path / "flow.yml")
    output = dora.output
    assert code == 0, output
    assert sink_lines(dora.lines, "counter") == [
        f"The current counter value is {n}" for n in range(1, 6)
    ], output
    # its printf lines reach the log as they are printed (the runtime line-buffers stdout)
    assert "C operator received message `hello 5`, counter: 5" in output
    assert "C operator received stop event" in output
