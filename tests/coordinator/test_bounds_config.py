"""Bad values for the coordinator's bounds: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (
            ["dora_coordinator", "--port", "0", "--keep-finished", "0"],
            {},
            2,
            "Error: --keep-finished must be an integer >= 1, got '0'",
        ),
        (
            ["dora_coordinator", "--port", "0"],
            {"DORA_COORDINATOR_MAX_REPLY_BACKLOG": "12"},
            2,
            "Error: DORA_COORDINATOR_MAX_REPLY_BACKLOG must be an integer >= 65536, got '12'",
        ),
        (
            ["dora_cli", "coordinator", "--port", "0"],
            {"DORA_COORDINATOR_HELLO_TIMEOUT": "soon"},
            2,
            "error: DORA_COORDINATOR_HELLO_TIMEOUT must be a number >= 0.1, got 'soon'",
        ),
    ],
)
def test_a_bad_bound_stops_the_coordinator_at_start(
    args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    result = run(args, env)
    assert result.returncode == code, result.stderr
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr
