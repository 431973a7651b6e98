"""Dataflows split over two and three daemons on 127.0.0.1: the data crosses over zenoh.

Real processes: one ``python -m dora_coordinator``, one ``python -m dora_daemon`` per
machine id, and the ``dora`` CLI from separate processes. Node scripts check every
message and its order themselves and fail the dataflow otherwise.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.coordinator.helpers import refused_port, wait_until
from tests.distributed.helpers import (
    Cluster,
    endless_flow,
    listening_tcp_ports,
    numbered_flow,
    shm_files_held,
    started_uuid,
)
from tests.procs import wait_gone

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A coordinator on a port it picks; every process is killed by PID at the end,
    after checking that none of them (nodes included) uses a /dev/shm file."""
    cluster = Cluster()
    try:
        cluster.coordinator()
        yield cluster
        assert not shm_files_held([proc.pid for proc in cluster.procs])
    finally:
        cluster.kill_all()


def node_processes(daemon_proc: object) -> list[psutil.Process]:
    return daemon_proc.children()  # type: ignore[attr-defined,no-any-return]


@pytest.mark.timeout(180)
def test_two_daemons_deliver_every_message_in_order(tmp_path: Path, cluster: Cluster) -> None:
    alpha = cluster.daemon("alpha")
    beta = cluster.daemon("beta")
    # the sink takes a second to start: without a start barrier spanning both daemons
    # the source would send (and lose) everything before the sink listens
    flow = numbered_flow(
        tmp_path / "flow", source="alpha", sink="beta", sink_env={"SINK_DELAY": "1.0"}
    )
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach", "--name", "numbers"]))
    assert cluster.wait_ended(uuid) == "Succeeded"
    row = cluster.listing()[uuid]
    assert (row["name"], row["status"], row["nodes"]) == ("numbers", "Succeeded", 2)

    logs = cluster.dora(["logs", uuid, "sink"])
    assert logs.returncode == 0, logs.stderr
    assert "sink: small=2000 big=20 mixed=50 in order" in logs.stdout
    source_logs = cluster.dora(["logs", "numbers", "--node", "source"])
    assert "source: sent small=2000 big=20" in source_logs.stdout
    # each node ran on its own daemon, and each daemon wrote only its node's log file
    out = flow.parent / "out" / uuid
    assert sorted(p.name for p in out.glob("log_*.jsonl")) == ["log_sink.jsonl", "log_source.jsonl"]
    assert not node_processes(alpha) and not node_processes(beta)


@pytest.mark.timeout(180)
def test_list_logs_and_stop_from_another_process(tmp_path: Path, cluster: Cluster) -> None:
    alpha = cluster.daemon("alpha")
    beta = cluster.daemon("beta")
    flow = endless_flow(tmp_path / "flow", ticker="alpha", listener="beta")
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach", "--name", "endless"]))
    log_file = flow.parent / "out" / uuid / "log_listener.jsonl"
    wait_until(
        lambda: log_file.exists() and "listener: first message" in log_file.read_text(),
        what="the listener on beta hearing the ticker on alpha",
    )
    nodes = wait_until(
        lambda: (
            len(node_processes(alpha)) == 1
            and len(node_processes(beta)) == 1
            and [*node_processes(alpha), *node_processes(beta)]
        )
    )
    assert "ticker.py" in " ".join(nodes[0].cmdline())
    assert "listener.py" in " ".join(nodes[1].cmdline())
    row = cluster.listing()[uuid]
    assert (row["name"], row["status"], row["nodes"]) == ("endless", "Running", 2)
    logs = cluster.dora(["logs", "endless", "listener"])
    assert logs.returncode == 0, logs.stderr
    assert "listener: first message" in logs.stdout

    stop = cluster.dora(["stop", "endless", "--grace-duration", "5s"])
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert not wait_gone(nodes, timeout=10)
    assert cluster.listing()[uuid]["status"] == "Succeeded"
    after = cluster.dora(["logs", uuid, "--node", "listener"])
    assert "listener: done after" in after.stdout
    seen = int(after.stdout.split("listener: done after")[1].split()[0])
    assert seen > 0


@pytest.mark.timeout(180)
def test_three_daemon_chain(tmp_path: Path, cluster: Cluster) -> None:
    # an explicit `--zenoh-listen IP:PORT` is what this daemon tests, so it needs a port
    # free an instant ago (released just before; every other port here is picked by 0)
    with refused_port() as port:
        pass
    a = cluster.daemon("a", (), "--zenoh-listen", f"127.0.0.1:{port}")
    assert f"listening on tcp/127.0.0.1:{port} (dialing [])" in a.wait_for_line("zenoh session")
    b = cluster.daemon("b")
    c = cluster.daemon("c")
    # each daemon dials those registered before it, as the coordinator told it
    assert f"(dialing ['tcp/127.0.0.1:{port}'])" in b.wait_for_line("zenoh session")
    assert "dialing ['tcp/127.0.0.1:" in c.wait_for_line("zenoh session")
    flow = numbered_flow(tmp_path / "flow", source="a", relay="b", sink="c")
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach"]))
    assert cluster.wait_ended(uuid) == "Succeeded"
    logs = cluster.dora(["logs", uuid, "--all-nodes"])
    assert "sink: small=2000 big=20 mixed=50 in order" in logs.stdout
    assert "relay: forwarded 2070" in logs.stdout


@pytest.mark.timeout(120)
def test_a_node_failing_before_the_start_fails_every_daemon(
    tmp_path: Path, cluster: Cluster
) -> None:
    alpha = cluster.daemon("alpha")
    cluster.daemon("beta")
    flow = numbered_flow(tmp_path / "flow", source="alpha", sink="beta", sink_path="broken.py")
    (flow.parent / "broken.py").write_text("import sys\nprint('broken: bye')\nsys.exit(3)\n")
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach"]))
    # the source, parked in the barrier on alpha, gets the error instead of waiting
    assert cluster.wait_ended(uuid, timeout=30) == "Failed"
    assert not node_processes(alpha)
    stop = cluster.dora(["stop", uuid])
    assert stop.returncode == 1
    listing = cluster.dora(["list"])
    assert uuid in listing.stdout and "Failed" in listing.stdout


@pytest.mark.timeout(60)
def test_a_later_daemon_dials_the_port_the_earlier_one_listens_on(cluster: Cluster) -> None:
    # the port is bound by zenoh (port 0) and read back: the coordinator hands beta the
    # port alpha's process holds, even though alpha reported it after registering
    alpha = cluster.daemon("alpha")
    beta = cluster.daemon("beta")
    alpha_line = alpha.wait_for_line("zenoh session listening on")
    beta_line = beta.wait_for_line("zenoh session listening on")
    alpha_port = int(re.findall(r"listening on tcp/127\.0\.0\.1:(\d+)", alpha_line)[0])
    assert listening_tcp_ports(alpha.pid) == [alpha_port]
    dialed = re.findall(r"tcp/127\.0\.0\.1:(\d+)", beta_line.partition("dialing")[2])
    assert [int(port) for port in dialed] == [alpha_port]
    beta_port = int(re.findall(r"listening on tcp/127\.0\.0\.1:(\d+)", beta_line)[0])
    assert listening_tcp_ports(beta.pid) == [beta_port] != [alpha_port]


@pytest.mark.timeout(180)
def test_daemons_that_never_dialed_each_other_connect_for_a_dataflow(
    tmp_path: Path, cluster: Cluster
) -> None:
    alpha = cluster.daemon("alpha")
    # a new coordinator on the same port: alpha re-registers only after beta did, so
    # neither was told about the other when it opened its zenoh session
    first = cluster.procs[0]
    alpha.proc.send_signal(signal.SIGSTOP)
    try:
        first.kill()
        cluster.procs.remove(first)
        cluster.coordinator()
        beta = cluster.daemon("beta")
        assert "(dialing [])" in beta.wait_for_line("zenoh session listening on")
    finally:
        alpha.proc.send_signal(signal.SIGCONT)
    alpha.wait_for_line("registered with the coordinator as alpha")
    assert "(dialing [])" in next(line for line in alpha.lines if "zenoh session" in line)

    flow = numbered_flow(tmp_path / "flow", source="alpha", sink="beta", small=200, big=2)
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach"]))
    assert cluster.wait_ended(uuid) == "Succeeded"
    assert "reopening the zenoh session" in "\n".join(alpha.output() + beta.output())
    logs = cluster.dora(["logs", uuid, "sink"])
    assert "sink: small=200 big=2 mixed=50 in order" in logs.stdout


@pytest.mark.timeout(120)
def test_inputs_from_a_dead_daemon_close(tmp_path: Path, cluster: Cluster) -> None:
    alpha = cluster.daemon("alpha")
    beta = cluster.daemon("beta")
    flow = endless_flow(tmp_path / "flow", ticker="alpha", listener="beta")
    uuid = started_uuid(cluster.dora(["start", str(flow), "--detach"]))
    log_file = flow.parent / "out" / uuid / "log_listener.jsonl"
    wait_until(
        lambda: log_file.exists() and "listener: first message" in log_file.read_text(),
        what="the listener hearing the ticker",
    )
    (listener,) = node_processes(beta)
    alpha.kill()  # the daemon and its ticker vanish without a word
    # the listener's input closes (rather than waiting forever) and it ends by itself
    assert not wait_gone([listener], timeout=30)
    wait_until(lambda: "listener: done after" in log_file.read_text(), what="the listener's end")
    beta.wait_for_line("is gone; closing its outputs")
