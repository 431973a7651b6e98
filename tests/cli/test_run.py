"""`dora run` end to end: real CLI process, real daemon, real node processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.procs import DoraProcess, dataflow_leftovers, run_dora, wait_gone

ROOT = Path(__file__).resolve().parents[2]
FLOWS = Path(__file__).parent / "flows"

pytestmark = pytest.mark.integration


def copy_example(name: str, tmp_path: Path) -> Path:
    """The example without what running it in place left behind (its ``out/`` logs)."""
    target = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, target, ignore=shutil.ignore_patterns("out"))
    return target / "dataflow.yml"


def copy_flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def dataflow_ids(base: Path) -> list[str]:
    out = base / "out"
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


@pytest.mark.timeout(90)
def test_example_runs_to_its_natural_end(tmp_path: Path) -> None:
    flow = copy_example("python-dataflow", tmp_path)
    result = run_dora(["run", str(flow)], timeout=80)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "receiver: got 20 squares in order" in result.stdout
    # node output is shown with the node's name and written to the log files
    (df_id,) = dataflow_ids(flow.parent)
    log = flow.parent / "out" / df_id / "log_receiver.jsonl"
    assert "got 20 squares in order" in log.read_text()
    assert not dataflow_leftovers(df_id)


@pytest.mark.timeout(90)
def test_large_arrays_through_shared_memory(tmp_path: Path) -> None:
    flow = copy_example("large-array", tmp_path)
    result = run_dora(["run", str(flow)], timeout=80)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "consumer: 30 frames intact" in result.stdout
    (df_id,) = dataflow_ids(flow.parent)
    assert not dataflow_leftovers(df_id)


@pytest.mark.timeout(60)
def test_stop_after_stops_everything(tmp_path: Path) -> None:
    flows = copy_flows(tmp_path)
    dora = DoraProcess(["run", str(flows / "endless.yml"), "--stop-after", "2s"])
    try:
        dora.wait_for_line("listener: first message")
        nodes = dora.descendants()
        assert nodes
        (df_id,) = dataflow_ids(flows)
        # while it runs, the check sees the dataflow's sockets: it can fail
        assert any(item.startswith("socket @dora-") for item in dataflow_leftovers(df_id))
        code = dora.wait(timeout=30)
        assert code == 0, dora.output
        assert "listener: stop MANUAL" in dora.output
        assert not wait_gone(nodes, timeout=5)
        assert not dataflow_leftovers(df_id)
    finally:
        dora.kill_tree()


@pytest.mark.timeout(60)
def test_ctrl_c_stops_gracefully(tmp_path: Path) -> None:
    flows = copy_flows(tmp_path)
    dora = DoraProcess(["run", str(flows / "endless.yml")])
    try:
        dora.wait_for_line("listener: first message")
        nodes = dora.descendants()
        dora.proc.send_signal(signal.SIGINT)
        code = dora.wait(timeout=30)
        assert code == 130, dora.output
        assert "ticker: stopped" in dora.output
        assert "listener: stop MANUAL" in dora.output
        assert not wait_gone(nodes, timeout=5)
    finally:
        dora.kill_tree()


@pytest.mark.timeout(60)
def test_killed_node_is_reported_and_the_rest_winds_down(tmp_path: Path) -> None:
    flows = copy_flows(tmp_path)
    dora = DoraProcess(["run", str(flows / "endless.yml")])
    try:
        dora.wait_for_line("listener: first message")
        nodes = dora.descendants()
        ticker = next(p for p in nodes if any("ticker.py" in a for a in p.cmdline()))
        ticker.send_signal(signal.SIGKILL)
        code = dora.wait(timeout=30)
        assert code == 1, dora.output
        assert "node `ticker` failed" in dora.output
        # the listener saw its only input close and stopped on its own
        assert "listener: stop ALL_INPUTS_CLOSED" in dora.output
        assert not wait_gone(nodes, timeout=5)
        (df_id,) = dataflow_ids(flows)
        assert not dataflow_leftovers(df_id)
    finally:
        dora.kill_tree()


@pytest.mark.timeout(60)
def test_sigkill_of_dora_run_takes_the_nodes_down(tmp_path: Path) -> None:
    flows = copy_flows(tmp_path)
    dora = DoraProcess(["run", str(flows / "endless.yml")])
    try:
        dora.wait_for_line("listener: first message")
        nodes = dora.descendants()
        assert len(nodes) >= 2
        dora.proc.send_signal(signal.SIGKILL)
        dora.proc.wait(timeout=10)
        alive = wait_gone(nodes, timeout=5)
        assert not alive, [p.pid for p in alive]
        (df_id,) = dataflow_ids(flows)
        assert not dataflow_leftovers(df_id)
    finally:
        dora.kill_tree()


def test_version() -> None:
    result = run_dora(["--version"])
    assert result.returncode == 0
    assert result.stdout.startswith("dora, version ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_dora(["run", str(tmp_path / "nope.yml")])
    assert result.returncode == 1
    assert "nope.yml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(90)
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
def test_uv_runs_python_nodes_through_uv(tmp_path: Path) -> None:
    flow = copy_example("python-dataflow", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    result = subprocess.run(
        [sys.executable, "-m", "dora_cli", "run", str(flow), "--uv"],
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert result.returncode == 0, result.stderr
    assert "receiver: got 20 squares in order" in result.stdout
    # the argv (`uv run python -u <file>`) is checked in tests/daemon/test_resolve.py


EXIT_FLOW = """
exit_when_nodes_finish: true
nodes:
  - id: source
    path: source.py
    outputs: [value]
  - id: sink
    path: sink.py
    inputs:
      value: source/value
      tick: dora/timer/millis/20
"""

EXIT_SOURCE = """
import pyarrow as pa
from dora import Node

node = Node()
for i in range(5):
    node.send_output("value", pa.array([i]))
"""

EXIT_SINK = """
from dora import Node

values = 0
for event in Node():
    if event["type"] == "INPUT" and event["id"] == "value":
        values += 1
    elif event["type"] == "STOP":
        print(f"sink: stop {event['id']} after {values} values", flush=True)
"""


@pytest.mark.timeout(60)
def test_exit_when_nodes_finish_ends_a_timer_driven_sink(tmp_path: Path) -> None:
    (tmp_path / "source.py").write_text(EXIT_SOURCE)
    (tmp_path / "sink.py").write_text(EXIT_SINK)
    flow = tmp_path / "dataflow.yml"
    flow.write_text(EXIT_FLOW)
    result = run_dora(["run", str(flow)], timeout=50)  # no --stop-after: it ends by itself
    assert result.returncode == 0, result.stderr
    assert "sink: stop ALL_INPUTS_CLOSED after 5 values" in result.stdout
    assert "has no effect" not in result.stderr
