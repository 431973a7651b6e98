"""Helpers for tests that run real coordinator and daemon processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """``python -m <module> args`` with its merged output readable line by line."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=cwd,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        """The first new line containing ``needle``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line with {needle!r}:\n" + "\n".join(self.lines))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)
                raise EOFError(f"exited before {needle!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if needle in line:
                return line

    def output(self, wait: float = 0.0) -> list[str]:
        """Every line read so far; with ``wait``, up to the end of the output."""
        deadline = time.monotonic() + wait
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return self.lines
            if line is None:
                self._queue.put(None)
                return self.lines
            self.lines.append(line)

    def children(self) -> list[psutil.Process]:
        """The direct children (node processes of a daemon)."""
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the process and every descendant, by PID."""
        procs = []
        try:
            root = psutil.Process(self.pid)
            procs = [*root.children(recursive=True), root]
        except psutil.NoSuchProcess:
            pass
        for process in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def start_coordinator(port: int, *args: str) -> Proc:
    """A coordinator on 127.0.0.1:port, returned once it listens."""
    proc = Proc("dora_coordinator", ["--port", str(port), *args])
    proc.wait_for_line("dora-coordinator listening on")
    return proc


def start_daemon(port: int, *args: str, cwd: Path | None = None) -> Proc:
    """A daemon connected to the coordinator on ``port``, returned once registered."""
    proc = Proc("dora_daemon", ["--coordinator-port", str(port), *args], cwd=cwd)
    proc.wait_for_line("registered with the coordinator as")
    return proc


def wait_until(check, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def cluster() -> Iterator[tuple[int, list[Proc]]]:
    """A free port and a list to which tests add their processes; all killed at the end."""
    procs: list[Proc] = []
    try:
        yield free_port(), procs
    finally:
        for proc in procs:
            proc.kill()
