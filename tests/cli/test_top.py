"""`dora top --once` / `dora inspect top` against a real coordinator, daemons and nodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli.helpers import env_for, on_machine, started_uuid, write_flow
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration


FLOWS = Path(__file__).parent / "flows"
HOG_MIB = 160  # the ballast tests/cli/flows/hog.py holds
HOG_QUEUE = 4
# a node that holds memory, spins and never reads its input (tests/cli/flows/hog.py)
HOG = f"""  - id: hog
    path: hog.py
    inputs:
      count:
        source: ticker/count
        queue_size: {HOG_QUEUE}
"""


def snapshot(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    result = run_dora(args, env=env)
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)
    assert isinstance(nodes, list)
    return nodes


@pytest.mark.timeout(120)
def test_top_once_prints_running_nodes_with_real_metrics(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    daemon = start_daemon(port, "--machine-id", "solo")
    procs.append(daemon)
    assert snapshot(["top", "--once"], env) == []

    flow = write_flow(tmp_path / "flow", "endless")
    shutil.copy(FLOWS / "hog.py", flow.parent / "hog.py")
    flow.write_text(flow.read_text() + HOG)
    ready_file = flow.parent / "hog.ready"
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "topped"], env=env))
    try:

        def sampled_with_the_hog_loaded() -> list[dict[str, Any]] | None:
            # the second sample of a process carries its disk I/O rates; the hog's sample
            # must come after it took its memory and its queue filled up
            if not ready_file.exists():
                return None
            nodes = snapshot(["top", "--once"], env)
            ready = {
                n["node_id"]: n["metrics"]
                for n in nodes
                if n["metrics"] and n["metrics"]["disk_read_mb_s"] is not None
            }
            hog = ready.get("hog")
            loaded = hog is not None and hog["memory_mb"] >= HOG_MIB
            full = hog is not None and hog["pending_messages"] == HOG_QUEUE
            return nodes if len(ready) == 3 and loaded and full else None

        nodes = wait_until(
            sampled_with_the_hog_loaded,
            timeout=60,
            what=f"two samples of every node, the hog at {HOG_MIB} MiB with {HOG_QUEUE} queued",
        )
        assert sorted(n["node_id"] for n in nodes) == ["hog", "listener", "ticker"]
        children = {child.pid for child in daemon.children()}
        for node in nodes:
            assert node["dataflow_id"] == uuid and node["dataflow_name"] == "topped"
            assert node["daemon_id"]["machine_id"] == "solo" and node["daemon_id"]["uuid"]
            assert node["network"] is None  # one machine: nothing crosses daemons
            metrics = node["metrics"]
            assert metrics["status"] == "running"
            assert metrics["pid"] in children
            # the memory shown is the process's resident set in MiB (steady processes)
            rss_mib = psutil.Process(metrics["pid"]).memory_info().rss / 2**20
            assert abs(metrics["memory_mb"] - rss_mib) < 8, (metrics, rss_mib)
            assert metrics["restart_count"] == 0 and metrics["broken_inputs"] == []
        hog = next(n["metrics"] for n in nodes if n["node_id"] == "hog")
        # 160 MiB of ballast on top of an interpreter with pyarrow (well under 150 MiB)
        assert HOG_MIB <= hog["memory_mb"] < HOG_MIB + 150, hog
        # the hog allocates nothing more: its figure is its RSS within 2 % (MiB, not MB)
        hog_rss_mib = psutil.Process(hog["pid"]).memory_info().rss / 2**20
        assert abs(hog["memory_mb"] - hog_rss_mib) <= 0.02 * hog_rss_mib, (hog, hog_rss_mib)
        # a process that is always runnable: over a 2 s sample it gets far more than 5 %
        # of a core unless dozens of others compete (a lower bound: load only lowers it)
        assert hog["cpu_usage"] >= 5, hog
        assert hog["pending_messages"] == HOG_QUEUE  # its queue, full and never read

        alias = snapshot(["inspect", "top", "--once"], env)
        assert sorted(n["node_id"] for n in alias) == ["hog", "listener", "ticker"]
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
    wait_until(lambda: snapshot(["top", "--once"], env) == [], what="the stopped dataflow gone")


@pytest.mark.timeout(60)
def test_top_without_a_terminal_fails_clearly(unused_port: int) -> None:
    env = env_for(unused_port)
    for args in (["top"], ["inspect", "top"]):
        result = run_dora(args, env=env)  # stdout is a pipe
        assert result.returncode == 1
        assert "`dora top` requires an interactive terminal" in result.stderr
        assert "Traceback" not in result.stderr
    low = run_dora(["top", "--refresh-interval", "0.5"], env=env)
    assert low.returncode == 2 and "--refresh-interval" in low.stderr
    unreachable = run_dora(["top", "--once"], env=env)  # nothing listens on the port
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr


@pytest.mark.timeout(120)
def test_top_once_counts_cross_daemon_traffic(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    procs.append(start_daemon(port, "--machine-id", "alpha"))
    procs.append(start_daemon(port, "--machine-id", "beta"))
    cross = write_flow(tmp_path / "x", "cross", on_machine("alpha"), on_machine("beta"))
    uuid = started_uuid(run_dora(["start", str(cross), "--detach"], env=env))
    try:

        def traffic() -> list[dict[str, Any]] | None:
            nodes = snapshot(["top", "--once"], env)
            networks = [n["network"] for n in nodes]
            if len(nodes) != 2 or not all(networks):
                return None
            net = networks[0]
            return nodes if net["messages_sent"] and net["messages_received"] else None

        nodes = wait_until(traffic, timeout=40, what="cross-daemon traffic reported")
        assert nodes[0]["network"] == nodes[1]["network"]  # the dataflow's, on every node
        net = nodes[0]["network"]
        assert net["bytes_sent"] > 0 and net["bytes_received"] > 0
        assert net["publish_failures"] == 0
        machines = {n["node_id"]: n["daemon_id"]["machine_id"] for n in nodes}
        assert machines == {"ticker": "alpha", "listener": "beta"}
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
