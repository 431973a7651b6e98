"""`dora top --once` / `dora inspect top` against a real coordinator, daemons and nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli.helpers import env_for, on_machine, started_uuid, write_flow
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def snapshot(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    result = run_dora(args, env=env)
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)
    assert isinstance(nodes, list)
    return nodes


@pytest.mark.timeout(90)
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
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "topped"], env=env))
    try:

        def sampled_twice() -> list[dict[str, Any]] | None:
            # the second sample of a process carries its disk I/O rates
            nodes = snapshot(["top", "--once"], env)
            ready = [
                n for n in nodes if n["metrics"] and n["metrics"]["disk_read_mb_s"] is not None
            ]
            return nodes if len(ready) == 2 else None

        nodes = wait_until(sampled_twice, timeout=30, what="two samples of both nodes")
        assert sorted(n["node_id"] for n in nodes) == ["listener", "ticker"]
        children = {child.pid for child in daemon.children()}
        for node in nodes:
            assert node["dataflow_id"] == uuid and node["dataflow_name"] == "topped"
            assert node["daemon_id"]["machine_id"] == "solo" and node["daemon_id"]["uuid"]
            assert node["network"] is None  # one machine: nothing crosses daemons
            metrics = node["metrics"]
            assert metrics["status"] == "running"
            assert metrics["pid"] in children
            assert psutil.Process(metrics["pid"]).is_running()
            assert metrics["memory_mb"] > 0 and metrics["cpu_usage"] >= 0
            assert metrics["restart_count"] == 0 and metrics["broken_inputs"] == []
            assert metrics["disk_write_mb_s"] >= 0
            assert metrics["pending_messages"] >= 0

        alias = snapshot(["inspect", "top", "--once"], env)
        assert sorted(n["node_id"] for n in alias) == ["listener", "ticker"]
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
