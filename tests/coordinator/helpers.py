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


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where every connection is refused while the block runs.

    For tests of "no coordinator there": a socket of this process is bound to the port and
    never listens, so connecting gets ECONNREFUSED and no other process can bind the port
    until the block ends. (Servers under test bind port 0 themselves and print the port.)
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> Iterator[int]:
    """:func:`refused_port` for the whole test."""
    with refused_port() as port:
        yield port


class Proc:
    """``python -m <module> args`` with its merged output readable line by line.

    ``prefix`` goes before the interpreter (e.g. ``ip netns exec NS``, which execs, so
    the PID is still the Python process's own).
    """

    port = 0  # the port a server printed (see :func:`start_coordinator`)

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", module, *args],
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

    def wait_ready(self, needle: str, timeout: float = 20.0) -> str:
        """:meth:`wait_for_line`, killing the process (by PID) if the line never comes."""
        try:
            return self.wait_for_line(needle, timeout)
        except BaseException:
            self.kill()
            raise

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


def start_coordinator(port: int = 0, *args: str) -> Proc:
    """A coordinator on 127.0.0.1, returned once it listens; its port is ``.port``.

    Port 0 (the default) lets the coordinator pick a free port and print it; a given port
    is for restarting a coordinator where its daemons expect it. Killed if it never listens.
    """
    proc = Proc("dora_coordinator", ["--port", str(port), *args])
    line = proc.wait_ready("dora-coordinator listening on")
    proc.port = int(line.rsplit(":", 1)[1])
    return proc


def start_daemon(port: int, *args: str, cwd: Path | None = None, timeout: float = 20.0) -> Proc:
    """A daemon connected to the coordinator on ``port``, returned once registered.

    Killed if it does not register within ``timeout`` seconds."""
    proc = Proc("dora_daemon", ["--coordinator-port", str(port), *args], cwd=cwd)
    proc.wait_ready("registered with the coordinator as", timeout)
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
def cluster() -> Iterator[list[Proc]]:
    """A list to which tests add their processes; all killed by PID at the end."""
    procs: list[Proc] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
