"""STOP_ALL ends the whole runtime node cleanly, from a C operator
(``DORA_STATUS_STOP_ALL``) as from a Python one (``DoraStatus.STOP_ALL``): the other
operator gets a STOP event and is dropped, the node exits 0, its outputs close, and the
sink (whose inputs all closed) ends too, so ``dora run`` ends by itself with 0. STOP ends
one operator only: its outputs close, the other operator goes on."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.c_api.operator_helpers import sink_lines
from tests.c_api.test_operator_mixed import mixed_flow
from tests.procs import DoraProcess

pytestmark = pytest.mark.integration


def run_with_env(directory: Path, name: str, value: str) -> DoraProcess:
    flow = mixed_flow(directory)
    text = flow.read_text().replace(
        "  - id: rt\n", f"  - id: rt\n    env:\n      {name}: {value}\n"
    )
    flow.write_text(text)
    return DoraProcess(["run", str(flow)], cwd=directory)


@pytest.mark.timeout(90)
def test_stop_all_from_the_c_operator_stops_the_node_cleanly(tmp_path: Path) -> None:
    dora = run_with_env(tmp_path, "RELAY_STOP_ALL_AFTER", "3")
    try:
        code = dora.wait(timeout=60)
    finally:
        dora.kill_tree()
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
    dora = run_with_env(tmp_path, "PY_STOP_ALL_AFTER", "3")
    try:
        code = dora.wait(timeout=60)
    finally:
        dora.kill_tree()
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
    dora = run_with_env(tmp_path, "RELAY_STOP_AFTER", "2")
    try:
        dora.wait_for_line("rt: relay dropped", timeout=60)
        seen = len(sink_lines(dora.lines, "words"))
        dora.wait_for_line(f"sink: words word {seen + 3}", timeout=30)  # py goes on
        dora.proc.send_signal(signal.SIGINT)
        code = dora.wait(timeout=30)
    finally:
        dora.kill_tree()
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
