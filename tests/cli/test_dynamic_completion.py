"""Shell completion of running dataflows and their nodes, asked from a real coordinator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import env_for, started_uuid, write_flow
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def complete(words: str, port: int) -> list[str]:
    """What bash completion offers for the command line ``words`` (last word incomplete)."""
    parts = words.split(" ")
    result = run_dora(
        [],
        env={
            **env_for(port),
            "_DORA_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # click's bash protocol: one "type,value" line per candidate
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


@pytest.mark.timeout(90)
def test_dataflow_names_and_node_ids_complete(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    procs.append(start_daemon(port))
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(
        run_dora(["start", str(flow), "--detach", "--name", "ticking"], env=env_for(port))
    )
    try:
        assert complete("dora stop tick", port) == ["ticking"]
        assert uuid in complete(f"dora logs {uuid[:6]}", port)
        assert sorted(complete("dora node restart ", port)) == ["listener", "ticker"]
        assert complete("dora logs ticking lis", port) == ["listener"]
    finally:
        run_dora(["stop", uuid, "--force"], env=env_for(port))


@pytest.mark.timeout(30)
def test_no_coordinator_means_no_candidates_quickly(unused_port: int) -> None:
    assert complete("dora stop ", unused_port) == []
