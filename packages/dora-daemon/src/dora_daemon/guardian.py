"""Node process groups outlive no daemon: the client side of the guardian process.

The daemon (or ``dora run``) registers every node's process group here. A detached
guardian process (:mod:`dora_daemon.guardian_main`) holds the read end of a pipe whose
write end only this process has; when this process ends in any way, the pipe closes and
the guardian SIGKILLs every group still registered. Groups are forgotten as soon as they
are known to be empty, so a recycled process-group id is never signalled.

Nodes also get ``PR_SET_PDEATHSIG`` (see :mod:`dora_daemon.spawn`), which ends the node
process itself at once; the guardian takes the rest of its group with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

_SCRIPT = Path(__file__).with_name("guardian_main.py")
_START_TIMEOUT = 5.0


class Guardian:
    """Registers process groups with one guardian process (started on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._failed = False

    def _start(self) -> int | None:
        if self._fd is not None or self._failed:
            return self._fd
        read_end, write_end = os.pipe()  # both non-inheritable: no node holds the write end
        try:
            launcher = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_SCRIPT)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
            launcher.wait(timeout=_START_TIMEOUT)  # it forks and exits at once
        except (OSError, subprocess.SubprocessError) as error:
            os.close(write_end)
            self._failed = True
            log.warning(
                "cannot start the node guardian (%s): grandchildren of nodes may "
                "outlive a killed daemon",
                error,
            )
            return None
        finally:
            os.close(read_end)
        self._fd = write_end
        return write_end

    def _write(self, line: str) -> None:
        with self._lock:
            fd = self._start()
            if fd is None:
                return
            try:
                os.write(fd, line.encode())
            except OSError as error:
                log.warning("the node guardian is gone (%s)", error)
                with contextlib.suppress(OSError):
                    os.close(fd)
                self._fd = None
                self._failed = True

    def watch(self, pgid: int) -> None:
        """Kill group ``pgid`` when this process dies."""
        self._write(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        """Group ``pgid`` is empty (or handled): never signal it."""
        with self._lock:
            if self._fd is None:
                return
        self._write(f"-{pgid}\n")


_guardian = Guardian()


def watch_group(pgid: int) -> None:
    """Register a node's process group with this process's guardian."""
    _guardian.watch(pgid)


def forget_group(pgid: int) -> None:
    """Unregister a node's process group."""
    _guardian.forget(pgid)


def start_guardian() -> None:
    """Start the guardian now (from any thread) rather than in the first
    :func:`watch_group`, whose caller would wait for its interpreter to start."""
    with _guardian._lock:
        _guardian._start()
