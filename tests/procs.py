"""Helpers for tests that start real `dora` processes: line waiting, process-tree cleanup."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil


class DoraProcess:
    """A running ``dora`` command whose output lines can be awaited."""

    def __init__(
        self, args: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ):
        full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dora_cli", *args],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, needle: str, timeout: float = 30.0) -> str:
        """Return the first new output line containing ``needle``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line containing {needle!r}; output:\n" + self.output)
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError(f"exited before {needle!r}; output:\n" + self.output)
            self.lines.append(line)
            if needle in line:
                return line

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for exit, collecting the remaining output."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill_tree(self) -> None:
        """Kill the command and everything it started (by PID)."""
        procs = [*self.descendants()]
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(self.proc.pid))
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; return those still alive."""
    _, alive = psutil.wait_procs(list(procs), timeout=timeout)
    return alive


def abstract_sockets(marker: str) -> list[str]:
    """Abstract Unix socket names (``@...``) bound now that contain ``marker``."""
    names = []
    with open("/proc/net/unix") as table:
        next(table)
        for row in table:
            parts = row.split()
            if len(parts) >= 8 and parts[7].startswith("@") and marker in parts[7]:
                names.append(parts[7])
    return names


def dataflow_leftovers(dataflow_id: str) -> list[str]:
    """What a finished dataflow could leave behind, described: its abstract sockets still
    bound (``/proc/net/unix``: node, daemon, bridge and watch addresses all carry the
    dataflow id), its shared-memory files still open or mapped by any process
    (``/proc/*/fd`` and ``/proc/*/maps``: segments are memfds named after the dataflow),
    and files under ``/dev/shm`` naming it (zenoh's shared memory, were it ever on)."""
    found = [f"socket {name}" for name in abstract_sockets(dataflow_id)]
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("/memfd:") and dataflow_id in target:
                        found.append(f"pid {pid_dir.name} holds {target}")
        with contextlib.suppress(OSError):
            for line in (pid_dir / "maps").read_text().splitlines():
                if "/memfd:" in line and dataflow_id in line:
                    found.append(f"pid {pid_dir.name} maps {line.split(maxsplit=5)[-1]}")
                    break
    with contextlib.suppress(OSError):
        found += [f"/dev/shm/{name}" for name in os.listdir("/dev/shm") if dataflow_id in name]
    return found


def run_dora(
    args: Sequence[str],
    cwd: Path | None = None,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a ``dora`` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "dora_cli", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
