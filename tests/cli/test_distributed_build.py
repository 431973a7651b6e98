"""`dora build` of deployed dataflows: through the coordinator onto each machine's daemon.

A real coordinator and two daemons (machine ids ``alpha`` and ``beta``) run on
127.0.0.1 with a free port; every process is killed by PID at the end. Each node's
``build:`` writes a marker file naming ``$DORA_MACHINE_ID``, which only a daemon sets,
so the markers prove where each build ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.coordinator.helpers import Proc, refused_port, start_coordinator, start_daemon
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def write_flow(directory: Path, beta_build: str | None = None) -> Path:
    """Two nodes pinned to alpha and beta, each building a marker file."""
    directory.mkdir(parents=True, exist_ok=True)
    marker = 'echo "built-by-${DORA_MACHINE_ID:-nobody}" > marker_%s.txt && echo "done %s"'
    build_b = beta_build or marker % ("b", "b")
    path = directory / "flow.yml"
    path.write_text(
        f"""nodes:
  - id: node-a
    path: a.py
    build: {marker % ("a", "a")!r}
    outputs: [x]
    _unstable_deploy:
      machine: alpha
  - id: node-b
    path: b.py
    build: {build_b!r}
    inputs:
      x: node-a/x
    deploy:
      machine: beta
"""
    )
    for script in ("a.py", "b.py"):
        (directory / script).write_text("")
    return path


def markers(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in sorted(directory.glob("marker_*.txt"))}


@pytest.fixture
def cluster() -> Iterator[tuple[int, list[Proc]]]:
    """A coordinator and daemons alpha and beta; all killed by PID at the end."""
    procs: list[Proc] = []
    try:
        procs.append(coordinator := start_coordinator())
        port = coordinator.port
        procs.append(start_daemon(port, "--machine-id", "alpha"))
        procs.append(start_daemon(port, "--machine-id", "beta"))
        yield port, procs
    finally:
        for proc in procs:
            proc.kill()


def env_for(port: int) -> dict[str, str]:
    return {"DORA_COORDINATOR_ADDR": "127.0.0.1", "DORA_COORDINATOR_PORT": str(port)}


@pytest.mark.timeout(60)
def test_each_daemon_builds_its_own_nodes(tmp_path: Path, cluster: tuple[int, list[Proc]]) -> None:
    port, procs = cluster
    flow = write_flow(tmp_path / "flow")
    result = run_dora(["build", str(flow)], env=env_for(port))
    assert result.returncode == 0, result.stderr
    assert markers(flow.parent) == {
        "marker_a.txt": "built-by-alpha",
        "marker_b.txt": "built-by-beta",
    }
    assert "[node-a] done a" in result.stderr and "[node-b] done b" in result.stderr
    assert "build finished" in result.stderr and "note:" not in result.stderr
    alpha, beta = procs[1], procs[2]
    assert alpha.wait_for_line(": building ").endswith(f"building node-a in {flow.parent}")
    assert beta.wait_for_line(": building ").endswith(f"building node-b in {flow.parent}")


@pytest.mark.timeout(60)
def test_a_failing_build_names_the_node_and_machine(
    tmp_path: Path, cluster: tuple[int, list[Proc]]
) -> None:
    port, _ = cluster
    flow = write_flow(tmp_path / "flow", beta_build="echo about-to-fail && exit 3")
    result = run_dora(["build", str(flow)], env=env_for(port))
    assert result.returncode == 1, result.stderr
    assert "[node-b] about-to-fail" in result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "machine `beta`" in error and "node `node-b`" in error and "code 3" in error
    assert markers(flow.parent) == {"marker_a.txt": "built-by-alpha"}


@pytest.mark.timeout(60)
def test_unknown_machine_fails_clearly(tmp_path: Path, cluster: tuple[int, list[Proc]]) -> None:
    port, _ = cluster
    flow = write_flow(tmp_path / "flow")
    flow.write_text(flow.read_text().replace("machine: beta", "machine: gamma"))
    result = run_dora(["build", str(flow)], env=env_for(port))
    assert result.returncode == 1
    assert "machine `gamma`" in result.stderr
    assert markers(flow.parent) == {}


@pytest.mark.timeout(60)
def test_local_flag_builds_here_with_a_coordinator_up(
    tmp_path: Path, cluster: tuple[int, list[Proc]]
) -> None:
    port, procs = cluster
    flow = write_flow(tmp_path / "flow")
    result = run_dora(["build", str(flow), "--local"], env=env_for(port))
    assert result.returncode == 0, result.stderr
    assert markers(flow.parent) == {
        "marker_a.txt": "built-by-nobody",
        "marker_b.txt": "built-by-nobody",
    }
    assert not any(": building " in line for proc in procs for line in proc.output())


@pytest.mark.timeout(60)
def test_without_a_coordinator_deployed_nodes_build_locally(tmp_path: Path) -> None:
    flow = write_flow(tmp_path / "flow")
    with refused_port() as port:
        result = run_dora(["build", str(flow)], env=env_for(port))
    assert result.returncode == 0, result.stderr
    assert "note: no coordinator at 127.0.0.1:" in result.stderr
    assert markers(flow.parent) == {
        "marker_a.txt": "built-by-nobody",
        "marker_b.txt": "built-by-nobody",
    }
