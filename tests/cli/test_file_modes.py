"""Logs and recordings are private: files 0600 in 0700 folders, like the store and the
token (issue 13 item 13). The commands run with umask 0, so nothing is left to a umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dora_cli import background

pytestmark = pytest.mark.integration

TALKER = """
from dora import Node

node = Node()
n = 0
for event in node:
    if event["type"] == "INPUT":
        n += 1
        print("line", n, "x" * 200, flush=True)
        node.send_output("numbers", __import__("pyarrow").array([n]))
        if n == 12:
            break
"""

FLOW = """
nodes:
  - id: talker
    path: talker.py
    max_log_size: 1KB
    max_rotated_files: 2
    inputs:
      tick: dora/timer/millis/10
    outputs:
      - numbers
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def dora(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``dora`` to completion with umask 0 (a plain ``open`` would make 0666 files)."""
    return subprocess.run(
        [sys.executable, "-m", "dora_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0,
        env={**os.environ, "NO_COLOR": "1"},
    )


def assert_private_logs(base: Path) -> None:
    out = base / "out"
    assert mode(out) == 0o700
    (run,) = out.iterdir()
    assert mode(run) == 0o700
    logs = sorted(run.glob("log_*.jsonl"))
    assert any(".1.jsonl" in p.name for p in logs), logs  # rotated files too
    for log in logs:
        assert mode(log) == 0o600, log


@pytest.mark.timeout(180)
def test_recording_and_logs_are_private(tmp_path: Path) -> None:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "flow.yml").write_text(FLOW)
    stale = tmp_path / "rec.adorec"
    stale.write_bytes(b"")
    stale.chmod(0o644)  # an earlier file in the way is tightened, not kept readable
    result = dora(["record", "flow.yml", "-o", "rec.adorec"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "recording complete: 12 messages" in result.stdout  # the recorder node's line
    assert mode(tmp_path / "rec.adorec") == 0o600
    assert_private_logs(tmp_path)


@pytest.mark.timeout(180)
def test_replay_logs_are_private(tmp_path: Path) -> None:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "flow.yml").write_text(FLOW)
    assert dora(["record", "flow.yml", "-o", "rec.adorec"], tmp_path).returncode == 0
    replay_dir = tmp_path / "replay"
    replay_dir.mkdir()
    (tmp_path / "rec.adorec").rename(replay_dir / "rec.adorec")
    result = dora(["replay", "rec.adorec", "--speed", "0"], replay_dir)
    assert result.returncode == 0, result.stderr
    out = replay_dir / "out"
    assert mode(out) == 0o700
    for path in out.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


@pytest.mark.timeout(60)
def test_background_process_logs_and_pid_files_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("DORA_STATE_DIR", str(state))
    old = os.umask(0)
    try:
        # a harmless module in place of the coordinator: only the files matter here
        process = background.start("dora_cli", 1, ["--version"])
    finally:
        os.umask(old)
    assert process.wait(timeout=30) == 0
    assert mode(state) == 0o700
    assert mode(background.log_file("dora_cli", 1)) == 0o600
    assert mode(background.pid_file("dora_cli", 1)) == 0o600
    assert "dora" in background.log_file("dora_cli", 1).read_text().lower()
