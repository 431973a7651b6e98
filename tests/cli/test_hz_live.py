"""`dora topic hz`'s TUI in a pseudo-terminal, on a real coordinator, daemon and nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import started_uuid
from tests.cli.terminal import Terminal
from tests.cli.test_topic_watch import write
from tests.procs import run_dora

pytestmark = pytest.mark.integration


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
