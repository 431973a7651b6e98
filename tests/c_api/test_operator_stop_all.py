"""STOP_ALL ends the whole runtime node cleanly, from a C operator
(``DORA_STATUS_STOP_ALL``) as from a Python one (``DoraStatus.STOP_ALL``): the other
operator gets a STOP event and is dropped, the node exits 0, its outputs close, and the
sink (whose inputs all closed) ends too, so ``dora run`` ends by itself with 0. STOP ends
one operator only: its outputs close, the other operator goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import interrupt, mixed_flow, run_to_end, running, sink_lines

pytestmark = pytest.mark.integration


def mixed_flow_with_env(directory: Path, name: str, value: str) -> Path:
    """``mixed_flow`` with ``name: value`` in the runtime node's environment."""
    flow = mixed_flow(directory)
    text = flow.read_text().replace(
        "  - id: rt\n", f"  - id: rt\n    env:\n      {name}: {value}\n"
    )
    flow.write_text(text)
    return flow


@pytest.mark.timeout(90)
def test_stop_all_from_the_c_operator_stops_the_node_cleanly(tmp_path: Path) -> None:
    code, dora = run_to_end(mixed_flow_with_env(tmp_path, "RELAY_STOP_ALL_AFTER", "3"))
    output = dora.output
    assert code == 0, output
    assert "rt: relay returns STOP_ALL" in output
    assert "operator `c` asked to stop the whole runtime node (STOP_ALL)" in output
    assert "rt: py_op got STOP" in output  # the other operator was told
    assert "rt: relay dropped" in output
    assert sink_lines(dora.lines, "ticks")[-1] == "tick 3", output  # nothing after it
    assert "sink: event INPUT_CLOSED ticks" in output
    assert "failed" not in output


@pytest.mark.timeout(90)
def test_stop_all_from_the_python_operator_stops_the_node_cleanly(tmp_path: Path) -> None:
    code, dora = run_to_end(mixed_flow_with_env(tmp_path, "PY_STOP_ALL_AFTER", "3"))
    output = dora.output
    assert code == 0, output
    assert "rt: py_op returns STOP_ALL" in output
    assert "operator `py` asked to stop the whole runtime node (STOP_ALL)" in output
    assert output.index("rt: relay got STOP") < output.index("rt: relay dropped")
    assert sink_lines(dora.lines, "words")[-1] == "word 3", output
    assert "sink: event INPUT_CLOSED words" in output
    assert "failed" not in output


@pytest.mark.timeout(90)
def test_stop_from_the_c_operator_ends_it_alone(tmp_path: Path) -> None:
    with running(mixed_flow_with_env(tmp_path, "RELAY_STOP_AFTER", "2")) as dora:
        dora.wait_for_line("rt: relay dropped", timeout=60)
        seen = len(sink_lines(dora.lines, "words"))
        dora.wait_for_line(f"sink: words word {seen + 3}", timeout=30)  # py goes on
        code = interrupt(dora)
    output = dora.output
    assert code == 130, output
    assert "rt: relay returns STOP" in output
    # its outputs closed at once (behind its last message), while the node ran on
    assert "sink: event INPUT_CLOSED ticks" in output
    assert "sink: event INPUT_CLOSED echo" in output
    assert output.index("sink: event INPUT_CLOSED ticks") < output.index("py_op got STOP")
    assert sink_lines(dora.lines, "ticks") == ["tick 1", "tick 2"], output
    assert "rt: relay got STOP" not in output  # dropped before the dataflow stopped
    assert "rt: py_op got STOP" in output
