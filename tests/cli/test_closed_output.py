"""``dora run ... 2>&1 | head -2`` then Ctrl-C: a closed stdout/stderr must never block the
stop path (issue 13 item 15). The pipe, its early closing and SIGINT are real."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dora_daemon.log_format import encode_record
from dora_message.common import LogMessage
from dora_message.log_filter import format_timestamp
from tests.procs import wait_gone

TALKER = """
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        print("tick", flush=True)
"""

FLOW = """
nodes:
  - id: talker
    path: talker.py
    inputs:
      tick: dora/timer/millis/20
"""


def kill_tree(proc: subprocess.Popen[bytes], *others: psutil.Process) -> None:
    """SIGKILL a command still running, what it started, and ``others`` (by PID; psutil
    checks a process's start time, so a reused PID is never hit)."""
    procs = list(others)
    if proc.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(proc.pid)
            procs += [*root.children(recursive=True), root]
    for each in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            each.kill()
    psutil.wait_procs(procs, timeout=10)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_the_first_sigint_stops_a_run_whose_output_pipe_is_closed(tmp_path: Path) -> None:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "flow.yml").write_text(FLOW)
    read_end, write_end = os.pipe()
    dora = subprocess.Popen(  # like `dora run flow.yml 2>&1 | head -2`
        [sys.executable, "-m", "dora_cli", "run", "flow.yml"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=write_end,
        stderr=write_end,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )
    os.close(write_end)
    nodes: list[psutil.Process] = []
    try:
        with os.fdopen(read_end, "rb") as head:
            lines = [head.readline() for _ in range(2)]
            assert all(b"talker: tick" in line for line in lines), lines
            nodes = psutil.Process(dora.pid).children(recursive=True)
            assert nodes, "the talker node should be running"
        # `head` exited: the pipe has no reader any more; then Ctrl-C, once
        dora.send_signal(signal.SIGINT)
        code = dora.wait(timeout=60)
        assert code == 130  # interrupted, and stopped by the first SIGINT
        assert not wait_gone(nodes, timeout=30), "nodes outlived the dataflow"
    finally:
        kill_tree(dora, *nodes)


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_following_logs_ends_when_the_reader_goes_away(tmp_path: Path) -> None:
    log = tmp_path / "out" / "df-1" / "log_talker.jsonl"
    log.parent.mkdir(parents=True)

    def append(n: int) -> None:
        record = LogMessage(
            timestamp=format_timestamp(time.time()), level="info", message=f"m{n}", node_id="talker"
        )
        with log.open("a") as file:
            file.write(encode_record(record) + "\n")

    append(0)
    read_end, write_end = os.pipe()
    dora = subprocess.Popen(  # like `dora logs --local df-1 --follow | head -1`
        [sys.executable, "-m", "dora_cli", "logs", "--local", "df-1", "--follow"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=write_end,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as head:
            assert b"talker: m0" in head.readline()
        # the reader is gone: the next line shown meets a closed pipe and ends the command.
        # New lines keep coming until then (the follower polls the files it found).
        n = 0
        while dora.poll() is None:
            n += 1
            append(n)
            with contextlib.suppress(subprocess.TimeoutExpired):
                dora.wait(timeout=0.2)
        assert dora.returncode == 0
    finally:
        kill_tree(dora)
