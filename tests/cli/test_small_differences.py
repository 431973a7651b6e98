"""The small differences of issue 14 item 9, with real processes: `dora logs` for an
unknown node, one `error:` prefix for every error, and a script that never creates its
Node is reported. (The hot-reload ERROR record is checked in test_hot_reload.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import started_uuid, write_flow
from tests.coordinator.bounds import start_coordinator_any_port
from tests.coordinator.helpers import Proc
from tests.procs import run_dora

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_logs_for_an_unknown_node_is_an_error_listing_the_nodes(tmp_path: Path) -> None:
    coordinator, port = start_coordinator_any_port()
    procs = [coordinator]
    try:
        daemon = Proc("dora_daemon", ["--coordinator-port", str(port)])
        procs.append(daemon)
        daemon.wait_for_line("registered with the coordinator as")
        env = {"DORA_COORDINATOR_PORT": str(port)}
        flow = write_flow(tmp_path / "flow", "endless")
        uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "lg"], env=env))
        try:
            for extra in ([], ["--follow"]):  # --follow used to wait forever
                result = run_dora(["logs", "lg", "nosuch", *extra], env=env, timeout=60)
                assert result.returncode == 1, result.stdout + result.stderr
                assert result.stderr.strip() == (
                    f"error: dataflow {uuid} has no node `nosuch` (nodes: listener, ticker)"
                )
            known = run_dora(["logs", "lg", "ticker", "--tail", "1"], env=env)
            assert known.returncode == 0, known.stderr
        finally:
            run_dora(["stop", uuid, "--force"], env=env)
    finally:
        for proc in procs:
            proc.kill()


QUIET = 'print("quiet: no dora here", flush=True)\n'
OTHER = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        break
"""


@pytest.mark.timeout(90)
def test_a_script_that_never_creates_its_node_is_reported(tmp_path: Path) -> None:
    (tmp_path / "quiet.py").write_text(QUIET)
    (tmp_path / "other.py").write_text(OTHER)
    (tmp_path / "flow.yml").write_text(
        "nodes:\n"
        "  - id: quiet\n    path: quiet.py\n    inputs:\n      tick: dora/timer/millis/20\n"
        "  - id: other\n    path: other.py\n    inputs:\n      tick: dora/timer/millis/20\n"
    )
    result = run_dora(["run", "flow.yml", "--stop-after", "60s"], cwd=tmp_path)
    out = result.stdout + result.stderr
    assert "quiet: no dora here" in out
    assert "node quiet exited before initializing dora" in out, out
    assert "node other exited before initializing dora" not in out
    # the local logs know the nodes too
    logs = run_dora(["logs", "--local", "nosuch"], cwd=tmp_path)
    assert logs.returncode == 1
    assert "has no node `nosuch` (nodes: other, quiet)" in logs.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["nosuchcommand"],
        ["run", "flow.yml", "--stop-after", "never"],
        ["logs", "--tail", "-1"],
    ],
    ids=["missing-argument", "unknown-command", "bad-option-value", "out-of-range"],
)
def test_usage_errors_start_with_error_like_every_other_error(
    tmp_path: Path, args: list[str]
) -> None:
    result = run_dora(args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    assert "Error:" not in result.stderr
    assert "Try 'dora" in result.stderr  # the usage hint stays


@pytest.mark.timeout(60)
def test_command_errors_start_with_error(tmp_path: Path) -> None:
    missing = run_dora(["run", "nosuch.yml"], cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: "), missing.stderr
    unreachable = run_dora(["node", "info", "x", "--coordinator-port", "1"], cwd=tmp_path)
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("error: "), unreachable.stderr
