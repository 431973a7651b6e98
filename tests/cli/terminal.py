"""A ``dora`` command on a pseudo-terminal, for the tests of the TUIs and of prompts."""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import sys
import time


class Terminal:
    """A ``dora`` command on a pseudo-terminal, and everything it wrote so far."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self._fd, child = os.openpty()
        os.set_blocking(self._fd, False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dora_cli", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **env},
            close_fds=True,
        )
        os.close(child)
        self.output = ""

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self._fd], [], [], max(0.0, min(timeout, 0.5)))
        if ready:
            with contextlib.suppress(OSError):  # the child closed the terminal
                self.output += os.read(self._fd, 65536).decode(errors="replace")

    def expect(self, pattern: str, timeout: float, after: int = 0) -> re.Match[str]:
        """Read until ``pattern`` shows up in the output (escape codes left in) past its
        first ``after`` characters (``len(output)`` earlier: only what came since)."""
        deadline = time.monotonic() + timeout
        while (match := re.search(pattern, self.output[after:])) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise AssertionError(
                    f"no {pattern!r} in the output after {after}:\n{self.output[after:][-2000:]}"
                )
            self._read(remaining)
        return match

    def exit_code(self, timeout: float) -> int:
        """Wait for the command to end, reading on so its writes never block."""
        deadline = time.monotonic() + timeout
        while (code := self.proc.poll()) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"still running:\n{self.output[-2000:]}")
            self._read(remaining)
        return code

    def send(self, keys: bytes) -> None:
        os.write(self._fd, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self._fd)
