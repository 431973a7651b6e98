"""`dora trace list|view` against a real coordinator and daemon."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from dora_cli.client import CoordinatorError, Target, call
from dora_message import cli_to_coordinator as cli
from tests.cli.helpers import env_for, started_uuid, write_flow
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def trace_rows(env: dict[str, str]) -> list[list[str]]:
    """The rows of `dora trace list` (header dropped), split on runs of 2+ spaces."""
    result = run_dora(["trace", "list"], env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TRACE", "ID", "ROOT", "SPAN", "SPANS", "STARTED", "DURATION"]
    return [[cell for cell in line.split("  ") if cell.strip()] for line in lines[1:]]


@pytest.mark.timeout(120)
def test_trace_list_and_view_show_the_spawn_of_a_dataflow(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)

    empty = run_dora(["trace", "list"], env=env)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "No traces captured yet."

    procs.append(start_daemon(port))
    flow = write_flow(tmp_path / "flow", "endless")
    uuid_ = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "traced"], env=env))
    try:
        rows = wait_until(
            lambda: [r for r in trace_rows(env) if r[1].strip() == "spawn_dataflow"],
            what="a spawn_dataflow trace",
        )
        short_id, _, spans, started, duration = (cell.strip() for cell in rows[0])
        assert len(short_id) == 12
        assert int(spans) >= 4  # root, place_nodes, wait_for_spawn, spawn_on_daemon
        assert len(started) == len("2026-03-01 10:30:05") and started[4] == "-"
        assert duration.endswith(("s", "ms", "us"))

        view = run_dora(["trace", "view", short_id[:8]], env=env)
        assert view.returncode == 0, view.stderr
        lines = view.stdout.splitlines()
        assert lines[0].startswith("spawn_dataflow [INFO ")
        assert f"dataflow_id={uuid_}" in lines[0] and "name=traced" in lines[0]
        assert any(line.startswith("  place_nodes [INFO ") for line in lines)
        assert any(line.startswith("  wait_for_spawn [INFO ") for line in lines)
        spawn_line = next(line for line in lines if "spawn_on_daemon" in line)
        assert spawn_line.startswith("    spawn_on_daemon [INFO ")
        assert "nodes=ticker,listener" in spawn_line
        assert "trace is partial" not in view.stderr

        stopped = run_dora(["stop", uuid_], env=env)
        assert stopped.returncode == 0, stopped.stderr
    finally:
        run_dora(["stop", uuid_, "--force"], env=env)  # no-op once stopped

    names = [row[1].strip() for row in trace_rows(env)]
    assert names[0] == "stop_dataflow" and "spawn_dataflow" in names  # newest first

    missing = run_dora(["trace", "view", "zzzz"], env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no trace found matching prefix `zzzz`"
    assert missing.stdout == ""

    unknown = run_dora(["trace", "view", str(uuid.uuid4())], env=env)
    assert unknown.returncode == 0, unknown.stderr
    assert unknown.stdout.strip() == "No spans found for this trace."

    for bad in ("x" * 37, "ü"):
        with pytest.raises(CoordinatorError, match="invalid trace_id format"):
            call(Target(port=port), cli.GetTraceSpans(trace_id=bad))


@pytest.mark.timeout(30)
def test_trace_list_without_coordinator_is_one_clear_line(
    unused_port: int,
) -> None:
    result = run_dora(["trace", "view", "abc"], env=env_for(unused_port))
    assert result.returncode == 1
    assert "Could not connect to dora-coordinator" in result.stderr
    assert "Traceback" not in result.stderr
