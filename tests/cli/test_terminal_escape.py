"""Node output on a terminal: control characters escaped, log files unchanged (issue 13
item 14). ``dora run`` runs on a real pseudo-terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dora_cli.terminal_text import escape_controls
from dora_daemon.log_format import decode_record
from tests.cli.test_closed_output import kill_tree

TITLE = "\x1b]0;pwned-title\x07"
CLEAR = "\x1b[2J"

NODE = f"""
from dora import Node

node = Node()
print("before" + {TITLE!r} + "middle" + {CLEAR!r} + "after", flush=True)
print("carriage\\roverwrite", flush=True)
print("plain line done", flush=True)
"""

FLOW = """
nodes:
  - id: noisy
    path: noisy.py
    inputs:
      tick: dora/timer/millis/500
"""


def run_on_terminal(args: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run ``dora args`` with stdin/stdout/stderr on a new pseudo-terminal; its exit code
    and everything it wrote there."""
    master, child = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dora_cli", *args],
        cwd=cwd,
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(child)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"still running:\n{output.decode(errors='replace')}")
        return proc.wait(timeout=10), output.decode(errors="replace")
    finally:
        kill_tree(proc)  # only left running when the test failed
        os.close(master)


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_escape_sequences_from_a_node_are_shown_escaped_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(NODE)
    (tmp_path / "flow.yml").write_text(FLOW)
    code, output = run_on_terminal(["run", "flow.yml"], tmp_path, timeout=90)
    assert code == 0, output
    assert "noisy: plain line done" in output  # the node ran and its lines were shown
    # shown as text, not acted on: no escape, bell or carriage return from the node
    assert "before\\x1b]0;pwned-title\\x07middle\\x1b[2Jafter" in output
    assert "carriage\\x0doverwrite" in output
    assert "\x1b" not in output and "\x07" not in output
    # ... and the log file keeps exactly what the node printed
    (log,) = (tmp_path / "out").glob("*/log_noisy.jsonl")
    messages = [decode_record(line).message for line in log.read_text().splitlines()]
    assert f"before{TITLE}middle{CLEAR}after" in messages
    assert "carriage\roverwrite" in messages


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_a_pipe_gets_node_output_unchanged(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(NODE)
    (tmp_path / "flow.yml").write_text(FLOW)
    result = subprocess.run(
        [sys.executable, "-m", "dora_cli", "run", "flow.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert f"before{TITLE}middle{CLEAR}after" in result.stdout


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (TITLE, "\\x1b]0;pwned-title\\x07"),
        (CLEAR, "\\x1b[2J"),
        ("a\rb\nc\x00d\x7fe\x9bf", "a\\x0db\\x0ac\\x00d\\x7fe\\x9bf"),
        ("tab\tand ünïcödé stay", "tab\tand ünïcödé stay"),
    ],
)
def test_escape_controls(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_json_log_format_on_a_terminal_keeps_json_escapes(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(NODE)
    (tmp_path / "flow.yml").write_text(FLOW)
    code, output = run_on_terminal(["run", "flow.yml", "--log-format", "json"], tmp_path, 90)
    assert code == 0, output
    assert "\x1b" not in output
    (line,) = [line for line in output.splitlines() if "pwned-title" in line]
    assert decode_record(line.strip()).message == f"before{TITLE}middle{CLEAR}after"
