"""`dora up/down/start/list/logs/stop` against real coordinator and daemon processes.

Everything runs on 127.0.0.1 with free ports; every process started here is killed by
PID at the end (the coordinator, the daemons, and through them their node processes).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psutil
import pytest

from dora_cli.client import Target, call
from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from dora_message.config import decode_node_config
from tests.cli.helpers import env_for, on_machine, started_uuid, write_flow
from tests.coordinator.helpers import (
    Proc,
    refused_port,
    start_coordinator,
    start_daemon,
    wait_until,
)
from tests.procs import DoraProcess, run_dora, wait_gone

pytestmark = pytest.mark.integration


def dataflows(port: int) -> dict[str, to_cli.DataflowSummary]:
    listing = call(Target(port=port), cli.ListDataflows())
    return {row.uuid: row for row in listing.dataflows}


def node_pids(daemon: Proc, dataflow_id: str) -> dict[str, int]:
    """The daemon's node processes of one dataflow, by node id (from their config)."""
    pids = {}
    for child in daemon.children():
        try:
            config = decode_node_config(child.environ()["DORA_NODE_CONFIG"])
        except (psutil.Error, KeyError):
            continue
        if config.dataflow_id == dataflow_id:
            pids[config.node_id] = child.pid
    return pids


@pytest.mark.timeout(90)
def test_up_is_idempotent_and_down_leaves_no_process(tmp_path: Path) -> None:
    # `dora up` serves a fixed port (its PID files and every later command are keyed on
    # it; it has no port 0): the one exception to "servers bind port 0", so a port that
    # was free an instant ago is released for it
    with refused_port() as port:
        pass
    env = env_for(port, tmp_path / "state")
    recorded: list[psutil.Process] = []
    try:
        first = run_dora(["up"], env=env)
        assert first.returncode == 0, first.stderr
        assert "started dora coordinator" in first.stderr
        assert "started dora daemon" in first.stderr
        pid_files = sorted((tmp_path / "state").glob("*.pid"))
        assert [p.name for p in pid_files] == [
            f"dora_coordinator-{port}.pid",
            f"dora_daemon-{port}.pid",
        ]
        recorded = [psutil.Process(int(p.read_text())) for p in pid_files]
        second = run_dora(["up"], env=env)
        assert second.returncode == 0, second.stderr
        assert "coordinator already running" in second.stderr
        assert "daemon already running" in second.stderr
        assert sorted((tmp_path / "state").glob("*.pid")) == pid_files
        assert len(call(Target(port=port), cli.ListDaemons()).daemons) == 1
        status = run_dora(["status", "--format", "json"], env=env)
        assert status.returncode == 0
        assert json.loads(status.stdout)["daemon"]["status"] == "running"

        flow = write_flow(tmp_path / "flow", "endless")
        uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
        daemon = recorded[1]
        nodes = wait_until(lambda: len(daemon.children()) == 2 and daemon.children())
        down = run_dora(["down"], env=env)  # stops the running dataflow first
        assert down.returncode == 0, down.stderr
        assert "destroyed successfully" in down.stderr
        assert not wait_gone([*recorded, *nodes], timeout=10)
        listener_log = (flow.parent / "out" / uuid / "log_listener.jsonl").read_text()
        assert "listener: done after" in listener_log
        assert not list((tmp_path / "state").glob("*.pid"))
        after = run_dora(["status"], env=env)
        assert after.returncode == 1
        assert "Not running" in after.stdout
        again = run_dora(["down"], env=env)
        assert again.returncode == 1
        assert f"Could not connect to dora-coordinator at 127.0.0.1:{port}" in again.stderr
    finally:
        for process in recorded:
            if process.is_running():
                process.kill()


@pytest.mark.timeout(90)
def test_detached_dataflow_is_listed_logged_and_stopped(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    daemon = start_daemon(port)
    procs.append(daemon)
    flow = write_flow(tmp_path / "flow", "endless")

    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "ticking"], env=env))
    log_file = flow.parent / "out" / uuid / "log_listener.jsonl"
    wait_until(lambda: log_file.exists() and "first message" in log_file.read_text(), what="logs")
    nodes = node_pids(daemon, uuid)
    assert set(nodes) == {"ticker", "listener"}

    listed = run_dora(["list"], env=env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if uuid in line)
    assert "ticking" in row and "Running" in row
    as_json = [
        json.loads(line) for line in run_dora(["ps", "-f", "json"], env=env).stdout.splitlines()
    ]
    assert [(r["uuid"], r["name"], r["status"], r["nodes"]) for r in as_json] == [
        (uuid, "ticking", "Running", 2)
    ]
    assert run_dora(["list", "-q", "--status", "finished"], env=env).stdout.strip() == ""

    logs = run_dora(["logs", "ticking", "listener"], env=env)
    assert logs.returncode == 0, logs.stderr
    assert "listener: first message" in logs.stdout
    assert "ticker: first send" not in logs.stdout
    merged = run_dora(["logs", "ticking", "--all-nodes", "--grep", "FIRST"], env=env)
    assert "ticker: first send" in merged.stdout and "listener: first message" in merged.stdout

    restarted = run_dora(["restart", "--name", "ticking"], env=env)
    assert restarted.returncode == 0, restarted.stderr
    old, new = restarted.stdout.split("dataflow restarted:")[1].strip().split(" -> ")
    assert old == uuid and new != uuid
    assert dataflows(port)[uuid].status == "Succeeded"
    assert dataflows(port)[new].name == "ticking"
    nodes = wait_until(lambda: len(node_pids(daemon, new)) == 2 and node_pids(daemon, new))

    node_procs = [psutil.Process(pid) for pid in nodes.values()]
    stop = run_dora(["stop", "ticking", "--grace-duration", "5s"], env=env)  # another process
    assert stop.returncode == 0, stop.stderr
    assert not wait_gone(node_procs, timeout=5)
    assert dataflows(port)[new].status == "Succeeded"
    after = run_dora(["logs", uuid, "--node", "listener", "--tail", "2"], env=env)
    assert "listener: done after" in after.stdout
    assert len(after.stdout.strip().splitlines()) == 2
    again = run_dora(["stop", uuid], env=env)
    assert again.returncode == 1
    assert "is not running" in again.stderr


@pytest.mark.timeout(90)
def test_attached_start_streams_logs_and_stops_on_ctrl_c(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    procs.append(start_daemon(port))
    flow = write_flow(tmp_path / "flow", "endless")
    attached = DoraProcess(["start", str(flow), "--attach"], env=env_for(port))
    try:
        attached.wait_for_line("listener: first message")
        attached.proc.send_signal(signal.SIGINT)
        assert attached.wait(timeout=30) == 0, attached.output
        # Stop reaches every node; the listener may see its input close first.
        assert "listener: done after" in attached.output
        (row,) = dataflows(port).values()
        assert row.status == "Succeeded"
    finally:
        attached.kill_tree()


@pytest.mark.timeout(120)
def test_two_daemons_run_their_own_dataflows(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    alpha = start_daemon(port, "--machine-id", "alpha")
    procs.append(alpha)
    beta = start_daemon(port, "--machine-id", "beta", "--labels", "zone=b")
    procs.append(beta)
    flow_a = write_flow(tmp_path / "a", "on-alpha", on_machine("alpha"))
    flow_b = write_flow(tmp_path / "b", "on-beta", on_machine("beta", key="deploy"))

    uuid_a = started_uuid(run_dora(["start", str(flow_a), "--detach"], env=env))
    uuid_b = started_uuid(run_dora(["start", str(flow_b), "--detach"], env=env))
    pids_a = wait_until(lambda: len(node_pids(alpha, uuid_a)) == 2 and node_pids(alpha, uuid_a))
    pids_b = wait_until(lambda: len(node_pids(beta, uuid_b)) == 2 and node_pids(beta, uuid_b))
    assert node_pids(alpha, uuid_b) == {} and node_pids(beta, uuid_a) == {}
    rows = dataflows(port)
    assert rows[uuid_a].daemons == ["alpha"] and rows[uuid_b].daemons == ["beta"]

    # ticker on alpha, listener on beta: the data crosses daemons over zenoh
    cross = write_flow(tmp_path / "x", "cross", on_machine("alpha"), on_machine("beta"))
    uuid_x = started_uuid(run_dora(["start", str(cross), "--detach"], env=env))
    listener_log = cross.parent / "out" / uuid_x / "log_listener.jsonl"
    wait_until(
        lambda: listener_log.exists() and "first message" in listener_log.read_text(),
        what="the listener on beta hearing the ticker on alpha",
    )
    assert set(node_pids(alpha, uuid_x)) == {"ticker"} and set(node_pids(beta, uuid_x)) == {
        "listener"
    }
    assert run_dora(["stop", uuid_x], env=env).returncode == 0
    assert (
        "no daemon with that machine id"
        in run_dora(
            ["start", str(write_flow(tmp_path / "c", "nowhere", on_machine("gamma"))), "--detach"],
            env=env,
        ).stderr
    )

    node_procs = [psutil.Process(pid) for pid in [*pids_a.values(), *pids_b.values()]]
    for uuid in (uuid_a, uuid_b):
        assert run_dora(["stop", uuid], env=env).returncode == 0
    assert not wait_gone(node_procs, timeout=5)


@pytest.mark.timeout(120)
def test_coordinator_sigkill_and_restart_keeps_the_dataflow(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    procs = cluster
    store = f"sqlite:{tmp_path / 'store' / 'coordinator.sqlite'}"
    coordinator = start_coordinator(0, "--store", store)
    procs.append(coordinator)
    port = coordinator.port
    env = env_for(port)
    daemon = start_daemon(port)
    procs.append(daemon)
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "survivor"], env=env))
    before = wait_until(lambda: len(node_pids(daemon, uuid)) == 2 and node_pids(daemon, uuid))

    coordinator.proc.send_signal(signal.SIGKILL)
    coordinator.proc.wait(timeout=10)
    daemon.wait_for_line("lost the coordinator")
    restarted = start_coordinator(port, "--store", store)
    procs.append(restarted)
    daemon.wait_for_line("registered with the coordinator as")
    wait_until(lambda: dataflows(port)[uuid].status == "Running", what="Running again")

    listed = run_dora(["list"], env=env)
    assert uuid in listed.stdout and "survivor" in listed.stdout
    assert node_pids(daemon, uuid) == before  # never restarted
    node_procs = [psutil.Process(pid) for pid in before.values()]
    assert all(process.is_running() for process in node_procs)

    stop = run_dora(["stop", "survivor"], env=env)
    assert stop.returncode == 0, stop.stderr
    assert not wait_gone(node_procs, timeout=5)
    assert dataflows(port)[uuid].status == "Succeeded"


@pytest.mark.timeout(90)
def test_logs_follow_streams_new_lines_until_the_dataflow_ends(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "chatty")
    (flow.parent / "listener.py").write_text(
        "from dora import Node\n"
        "seen = 0\n"
        "for event in Node():\n"
        "    if event['type'] == 'INPUT':\n"
        "        seen += 1\n"
        "        if seen % 10 == 0:\n"
        "            print(f'listener saw {seen}', flush=True)\n"
    )
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "chatty"], env=env))
    follow = DoraProcess(
        ["logs", "chatty", "--follow", "--node", "listener", "--tail", "1"], env=env
    )
    try:
        first = follow.wait_for_line("listener saw")
        count = int(first.rsplit(" ", 1)[1])
        later = follow.wait_for_line(
            f"listener saw {count + 50}"
        )  # lines written after we attached
        assert "ticker" not in follow.output
        assert later
        assert run_dora(["stop", uuid], env=env).returncode == 0
        follow.wait_for_line(f"dataflow {uuid} ended: Succeeded")
        assert follow.wait(timeout=10) == 0
    finally:
        follow.kill_tree()
