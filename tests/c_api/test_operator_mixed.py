"""A C shared-library operator and a Python operator in one runtime node: both receive a
timer and each other's outputs, both send; a sink node checks what arrived, addressing
``node/operator/output``. STOP reaches both operators, then the C one is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import (
    OPERATORS,
    SINK,
    interrupt,
    mixed_flow,
    running,
    sink_lines,
    write_files,
)

pytestmark = pytest.mark.integration


@pytest.mark.timeout(90)
def test_c_and_python_operators_share_a_node_and_talk_to_each_other(tmp_path: Path) -> None:
    with running(mixed_flow(tmp_path)) as dora:
        # C: timer -> `ticks`; Python: `ticks` -> `seen`
        dora.wait_for_line("sink: seen py saw tick 3", timeout=60)
        # Python: timer -> `words`; C: `words` (its input `text`) -> `echo`
        dora.wait_for_line("sink: echo c saw word 3", timeout=30)
        code = interrupt(dora)
    output = dora.output
    assert code == 130, output  # interrupted, and nothing failed
    ticks = sink_lines(dora.lines, "ticks")
    assert ticks[:3] == ["tick 1", "tick 2", "tick 3"], output
    words = sink_lines(dora.lines, "words")
    assert words[:3] == ["word 1", "word 2", "word 3"], output
    # each operator saw the other's messages in order, by their bare input ids
    assert sink_lines(dora.lines, "seen")[:3] == ["py saw tick 1", "py saw tick 2", "py saw tick 3"]
    assert sink_lines(dora.lines, "echo")[:3] == ["c saw word 1", "c saw word 2", "c saw word 3"]
    # the dataflow's stop reached both operators; the C one was dropped at the end
    assert "rt: relay got STOP" in output
    assert "rt: py_op got STOP" in output
    assert output.index("rt: relay got STOP") < output.index("rt: relay dropped")
    assert "failed" not in output


TWO_PYTHON_FLOW = """nodes:
  - id: rt
    operators:
      - id: a
        python: py_op.py
        inputs:
          tick: dora/timer/millis/30
        outputs: [words, seen]
      - id: b
        python: py_op.py
        inputs:
          tick: dora/timer/millis/50
          ticks: rt/a/words
        outputs: [words, seen]
  - id: sink
    path: sink.py
    inputs:
      a_words: rt/a/words
      b_words: rt/b/words
      b_seen: rt/b/seen
"""


@pytest.mark.timeout(90)
def test_two_python_operators_of_one_file_keep_their_own_state(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "flow.yml": TWO_PYTHON_FLOW,
            "sink.py": SINK,
            "py_op.py": (OPERATORS / "py_op.py").read_text(),
        },
    )
    with running(tmp_path / "flow.yml") as dora:
        dora.wait_for_line("sink: b_words word 3", timeout=60)
        dora.wait_for_line("sink: b_seen py saw word 3", timeout=30)
        code = interrupt(dora)
    output = dora.output
    assert code == 130, output
    # each instance counts its own ticks: one module per operator, not one shared class state
    assert sink_lines(dora.lines, "a_words")[:3] == ["word 1", "word 2", "word 3"], output
    assert sink_lines(dora.lines, "b_words")[:3] == ["word 1", "word 2", "word 3"], output
    assert sink_lines(dora.lines, "b_seen")[:3] == [
        "py saw word 1",
        "py saw word 2",
        "py saw word 3",
    ], output
