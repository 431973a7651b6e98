"""Where `dora run` prints what (issue 15 item 7): a node's output on stdout, its stderr
lines labelled STDERR, dora's own messages on stderr; a node's mistake (sending on an
output it does not have) as one WARN line naming the node and the output.

Real `dora run` subprocesses, stdout and stderr captured apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.procs import run_dora

pytestmark = pytest.mark.integration

TALKER = """
import sys
import pyarrow as pa
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        print("hello from talker", flush=True)
        print("complaint on stderr", file=sys.stderr, flush=True)
        node.send_output("out", pa.array([1]))
        node.send_output("undeclared", pa.array([1]))
        break
"""

FLOW = """
nodes:
  - id: talker
    path: talker.py
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - out
"""

CLOCK = r"\d\d:\d\d:\d\d\.\d\d\d"
WARNING = (
    "send_output: `undeclared` is not an output of this node in the dataflow, or it was "
    "closed (open outputs: `out`): the data is dropped"
)


def run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "flow.yml").write_text(FLOW)
    # --debug: a note of dora's own, which must land on stderr
    args = ["run", "flow.yml", "--stop-after", "60s", "--debug", *extra]
    result = run_dora(args, cwd=tmp_path, timeout=80)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.timeout(90)
def test_node_output_goes_to_stdout_and_dora_messages_to_stderr(tmp_path: Path) -> None:
    result = run(tmp_path)
    out = result.stdout.splitlines()
    assert any(re.fullmatch(rf"{CLOCK} STDOUT talker: hello from talker", x) for x in out), out
    assert any(re.fullmatch(rf"{CLOCK} STDERR talker: complaint on stderr", x) for x in out), out
    # the node's WARN: its name, the output, and no file=/line= of the node API
    assert any(re.fullmatch(rf"{CLOCK} WARN  talker: {re.escape(WARNING)}", x) for x in out), out
    assert "file=" not in result.stdout and "line=" not in result.stdout
    # nothing of the node on stderr; dora's own note is there
    assert "talker" not in result.stderr, result.stderr
    assert "note: --debug:" in result.stderr
    assert "note: --debug:" not in result.stdout


@pytest.mark.timeout(90)
def test_a_pipe_to_grep_finds_the_node_line(tmp_path: Path) -> None:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "flow.yml").write_text(FLOW)
    piped = subprocess.run(
        ["bash", "-c", "set -o pipefail; dora run flow.yml --stop-after 60s | grep hello"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=80,
        env={**_env(), "NO_COLOR": "1"},
    )
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert piped.stdout.splitlines() == [piped.stdout.strip()]  # grep kept only that line
    assert piped.stdout.strip().endswith("STDOUT talker: hello from talker")


@pytest.mark.timeout(90)
def test_json_log_format_keeps_stdout_pure_json(tmp_path: Path) -> None:
    result = run(tmp_path, "--log-format", "json")
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line parses
    by_message = {record["message"]: record for record in records}
    assert by_message["hello from talker"]["level"] == "stdout"
    assert by_message["complaint on stderr"]["node_id"] == "talker"
    warn = by_message[WARNING]
    assert warn["level"] == "WARN" and warn["node_id"] == "talker"
    # JSON keeps where the warning was logged (dora-rs's `file`/`line` keys)
    assert str(warn["file"]).endswith("node.py") and isinstance(warn["line"], int)
    assert "note: --debug:" in result.stderr


@pytest.mark.timeout(90)
def test_compact_log_format_labels_the_streams(tmp_path: Path) -> None:
    result = run(tmp_path, "--log-format", "compact")
    out = result.stdout.splitlines()
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d STDOUT talker: hello from talker", x) for x in out)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d STDERR talker: complaint on stderr", x) for x in out)
    assert any(re.fullmatch(rf"\d\d:\d\d:\d\d WARN talker: {re.escape(WARNING)}", x) for x in out)
    assert "talker" not in result.stderr


def _env() -> dict[str, str]:
    """This environment with the venv's `dora` first on PATH (the shell pipeline runs it)."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


CRASHER = """
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        raise ValueError("boom")
"""

RESTARTED = """
nodes:
  - id: crasher
    path: crasher.py
    inputs:
      tick: dora/timer/millis/50
    restart_policy: on-failure
    max_restarts: 1
"""


@pytest.mark.timeout(90)
def test_the_daemons_own_warnings_are_labelled_and_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "crasher.py").write_text(CRASHER)
    (tmp_path / "flow.yml").write_text(RESTARTED)
    result = run_dora(["run", "flow.yml", "--stop-after", "60s"], cwd=tmp_path, timeout=80)
    assert result.returncode == 1
    restarting = re.search(
        rf"^{CLOCK} WARN  dora: node crasher exited .*restarting", result.stderr, re.M
    )
    assert restarting, result.stderr
    assert "restarting" not in result.stdout
    as_json = run_dora(
        ["run", "flow.yml", "--stop-after", "60s", "--log-format", "json"], cwd=tmp_path, timeout=80
    )
    records = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    own = [r for r in records if r["node_id"] == "dora"]
    assert own and own[0]["level"] == "WARN" and "restarting" in own[0]["message"], as_json.stderr
