"""The runner reports a broken or hanging `dora` as FAILED, never as a measurement."""

import os
import stat

import psutil
import pytest
from peer import System
from report import build_report, render_text
from runner import run_flow
from scenarios import Spawn


def _fake_cli(tmp_path, body: str):
    path = tmp_path / "dora"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return System("ours", path, dict(os.environ))


@pytest.mark.timeout(30)
def test_crashing_cli_is_a_failed_figure(tmp_path):
    system = _fake_cli(tmp_path, 'echo "boom: descriptor rejected" >&2; exit 3')
    scenario = Spawn()
    (spec,) = scenario.runs()
    run = run_flow(system, spec, workdir=tmp_path)
    assert run.error == "`dora run` exited with code 3"
    assert "boom: descriptor rejected" in run.log_tail
    measured = scenario.measure({"spawn": run})
    assert measured["spawn_first"].value is None
    report = build_report(scenario.figures(), {"ours": {k: [v] for k, v in measured.items()}}, [])
    text = render_text(report)
    assert "FAILED [1]" in text and "exited with code 3" in text


@pytest.mark.timeout(30)
def test_hanging_cli_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    # the fake CLI starts a child that would outlive it, then hangs
    system = _fake_cli(tmp_path, f"sleep 300 & echo $! > {pid_file}; sleep 300")
    (spec,) = Spawn().runs()
    run = run_flow(system, spec, workdir=tmp_path, allowance_s=1.0)
    assert run.error is not None and "timed out" in run.error
    child = int(pid_file.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
