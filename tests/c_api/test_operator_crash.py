"""A segfaulting shared-library operator: the runtime node fails with a message naming the
operator (the helper library's signal handler), and ``restart_policy: on-failure``
brings the node, and so the operator, back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import (
    SINK,
    compile_operator,
    interrupt,
    run_to_end,
    running,
    sink_lines,
    write_files,
)

pytestmark = pytest.mark.integration

CRASH_FLOW = """nodes:
  - id: rt
{policy}    operators:
      - id: boom
        shared-library: build/crasher
        inputs:
          tick: dora/timer/millis/40
        outputs: [out]
  - id: sink
    path: sink.py
    inputs:
      out: rt/boom/out
env:
  CRASH_LOG: {log}
"""
CRASHED = "operator `boom` of node `rt` crashed with SIGSEGV"


def crash_flow(directory: Path, policy: str) -> Path:
    compile_operator("crasher", directory)
    flow = CRASH_FLOW.format(policy=policy, log=directory / "incarnations.log")
    write_files(directory, {"flow.yml": flow, "sink.py": SINK})
    return directory / "flow.yml"


@pytest.mark.timeout(90)
def test_a_segfault_is_restarted_under_on_failure_and_names_the_operator(tmp_path: Path) -> None:
    flow = crash_flow(tmp_path, "    restart_policy: on-failure\n")
    with running(flow) as dora:
        dora.wait_for_line(CRASHED, timeout=60)
        restart = dora.wait_for_line("node rt exited (signal 11 (SIGSEGV)): restarting it")
        # the daemon's own line names the operator too (the node's last stderr line)
        assert CRASHED in restart
        dora.wait_for_line("sink: event NODE_RESTARTED rt")
        dora.wait_for_line("sink: out incarnation 2 tick 3", timeout=30)  # still receiving
        code = interrupt(dora)
    output = dora.output
    assert code == 130, output  # interrupted, and the node did not fail in the end
    assert sink_lines(dora.lines, "out")[:2] == ["incarnation 1 tick 1", "incarnation 1 tick 2"]
    assert "incarnation 1 tick 3" not in output  # it crashed instead of sending it
    assert (tmp_path / "incarnations.log").read_text() == "init\ninit\n"
    assert sum(line.endswith(f"rt: {CRASHED}") for line in dora.lines) == 1  # crashed once


@pytest.mark.timeout(90)
def test_without_a_restart_policy_the_run_fails_naming_the_operator(tmp_path: Path) -> None:
    flow = crash_flow(tmp_path, "")
    code, dora = run_to_end(flow)
    output = dora.output
    assert code != 0, output
    summary = output[output.index("failed:") :]  # the run's closing summary
    assert "node `rt` failed: signal 11" in summary, output
    assert CRASHED in summary, output
    assert (tmp_path / "incarnations.log").read_text() == "init\n"
