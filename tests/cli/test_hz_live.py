"""`dora topic hz`'s TUI in a pseudo-terminal, on a real coordinator, daemon and nodes."""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import started_uuid
from tests.cli.test_topic_watch import write
from tests.procs import run_dora

pytestmark = pytest.mark.integration


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


@pytest.mark.timeout(120)
def test_hz_tui_shows_live_rates_and_quits_on_q(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write(tmp_path / "flow")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "watched"], env=env))
    terminal = Terminal(["topic", "hz", "-d", "watched", "sensor/reading"], env)
    try:
        terminal.expect("Recent Rate \\(Hz\\) — ALL", timeout=60)
        terminal.expect("Up/Down: Select", timeout=10)
        # the 20 ms timer's intervals reached the histogram of the selected row
        terminal.expect("Histogram \\(ms\\) — min=\\d+\\.\\d\\d, max=\\d+\\.\\d\\d", timeout=30)
        terminal.send(b"\x1b[B")  # Down
        terminal.expect("Recent Rate \\(Hz\\) — sensor/reading", timeout=10)
        terminal.send(b"q")
        assert terminal.exit_code(30) == 0
        assert "Traceback" not in terminal.output
    finally:
        terminal.close()
        run_dora(["stop", uuid, "--force"], env=env)


@pytest.mark.timeout(60)
def test_hz_without_a_terminal_or_duration_fails_clearly() -> None:
    result = run_dora(["topic", "hz", "-d", "watched"], env={"DORA_COORDINATOR_PORT": "1"})
    assert result.returncode == 1
    assert "pass --duration SECONDS" in result.stderr and "Traceback" not in result.stderr
