"""`dora topic pub` toward readers on two daemons: real coordinator, daemons, nodes.

The producer runs on machine `alpha`; its output is read by nodes there and on machine
`beta`. Each message must reach the readers on both daemons, in the order sent, and the
command's outcome must be built from both daemons' reports: readers that do not listen
within ``--timeout`` are named, whichever daemon runs them, both daemons' waits are
announced while they overlap, and a daemon that goes away while it waits is a failure
that names it, not a reader that "did not listen".
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
import pytest

from dora_daemon.log_format import decode_record
from tests.cli.helpers import env_for, on_machine, started_uuid
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import DoraProcess, abstract_sockets, dataflow_leftovers, run_dora

pytestmark = pytest.mark.integration

SENSOR = """
from dora import Node

for _event in Node():
    pass
"""

# Prints every value it reads; with GATE set, creates its Node only once the test
# creates that file (a node that is slow to start).
READER = """
import os
import time
from pathlib import Path

name = os.environ["NAME"]
gate = os.environ.get("GATE")
print(f"{name}: started", flush=True)
while gate and not Path(gate).exists():
    time.sleep(0.02)
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print(f"{name}: reading", event["value"].to_pylist(), flush=True)
"""


def reader(name: str, machine: str, gate: Path | None = None) -> str:
    env = f"      NAME: {name}\n" + (f"      GATE: {gate}\n" if gate else "")
    return (
        f"  - id: {name}\n    path: reader.py\n"
        f"    inputs:\n      reading: sensor/reading\n    env:\n{env}"
        f"{on_machine(machine)}\n"
    )


def write_flow(folder: Path, readers: str) -> Path:
    """sensor (on alpha, sends nothing itself) -> ``readers``, opened to watching."""
    folder.mkdir()
    (folder / "sensor.py").write_text(SENSOR)
    (folder / "reader.py").write_text(READER)
    flow = folder / "flow.yml"
    flow.write_text(
        "_unstable_debug:\n  publish_all_messages_to_zenoh: true\n"
        "nodes:\n"
        "  - id: sensor\n    path: sensor.py\n"
        "    inputs:\n      tick: dora/timer/secs/3600\n    outputs: [reading]\n"
        f"{on_machine('alpha')}\n" + readers
    )
    return flow


def two_daemons(procs: list[Proc]) -> dict[str, str]:
    """A coordinator and daemons `alpha` and `beta` on loopback; the `dora` environment."""
    procs.append(coordinator := start_coordinator())
    procs.append(start_daemon(coordinator.port, "--machine-id", "alpha"))
    procs.append(start_daemon(coordinator.port, "--machine-id", "beta"))
    return env_for(coordinator.port)


def readings(log: Path, node: str) -> list[str]:
    """The values ``node`` printed, in order (as printed lists)."""
    prefix = f"{node}: reading "
    lines = log.read_text().splitlines() if log.exists() else []
    messages = [decode_record(line).message for line in lines]
    return [m[len(prefix) :] for m in messages if m.startswith(prefix)]


def read_all(log: Path, node: str, count: int) -> list[str]:
    """``node``'s values once it printed ``count`` of them."""
    wait_until(lambda: len(readings(log, node)) >= count, what=f"{count} values read by {node}")
    return readings(log, node)


def listening(uuid: str, node: str) -> bool:
    return bool(abstract_sockets(f"dora-{uuid}-{node}"))


def stop(uuid: str, env: dict[str, str]) -> None:
    stopped = run_dora(["stop", uuid], env=env)
    assert stopped.returncode == 0, stopped.stderr
    wait_until(lambda: not dataflow_leftovers(uuid), what="the dataflow's sockets and memory gone")


@pytest.mark.timeout(180)
def test_pub_reaches_the_readers_on_both_daemons_in_order(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    env = two_daemons(cluster)
    flow = write_flow(
        tmp_path / "flow", reader("near", "alpha") + reader("far", "beta") + reader("also", "beta")
    )
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    out = flow.parent / "out" / uuid
    try:
        wait_until(
            lambda: all(listening(uuid, n) for n in ("near", "far", "also")),
            what="the three readers listening",
        )
        printed = {}
        for args in (["[1]"], ["[2, 3]"], ["[4]", "--count", "3"]):
            pub = run_dora(["topic", "pub", "-d", uuid, "sensor/reading", *args], env=env)
            assert pub.returncode == 0, pub.stderr
            assert pub.stdout == ""
            printed[args[0]] = pub.stderr.splitlines()
        assert printed["[1]"] == printed["[2, 3]"] == ["Published to sensor/reading"]
        assert printed["[4]"] == [f"Published message {i}/3" for i in (1, 2, 3)]

        expected = ["[1]", "[2, 3]", "[4]", "[4]", "[4]"]
        for node in ("near", "far", "also"):
            assert read_all(out / f"log_{node}.jsonl", node, len(expected)) == expected
    finally:
        stop(uuid, env)


@pytest.mark.timeout(180)
def test_pub_names_the_readers_that_do_not_listen_on_each_daemon(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    env = two_daemons(cluster)
    gate = tmp_path / "gate"
    flow = write_flow(
        tmp_path / "flow",
        reader("near", "alpha")
        + reader("slow", "alpha", gate)
        + reader("far", "beta")
        + reader("late", "beta", gate),
    )
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    out = flow.parent / "out" / uuid
    try:
        for node in ("slow", "late"):
            log = out / f"log_{node}.jsonl"
            wait_until(
                lambda log=log, node=node: log.exists() and f"{node}: started" in log.read_text(),
                what=f"{node} running, not listening yet",
            )
        # near and far listen (held in Node() at the start barrier until the others come)
        wait_until(
            lambda: listening(uuid, "near") and listening(uuid, "far"),
            what="near and far listening",
        )
        flags = ["--count", "2", "--timeout", "0.5"]
        missed = run_dora(["topic", "pub", "-d", uuid, "sensor/reading", "[1]", *flags], env=env)
        assert missed.returncode == 1, missed.stderr
        assert (
            "message 1/2 on `sensor/reading` did not reach every reader: nodes `late`, `slow` "
            "did not listen within 0.5 s (not started yet, or exited); it reached nodes "
            "`far`, `near`; message 2 not sent"
        ) in missed.stderr
        assert "Published" not in missed.stderr and "Traceback" not in missed.stderr

        # both daemons wait at once, and `pub` says so for each before either is done
        pub = DoraProcess(
            ["topic", "pub", "-d", uuid, "sensor/reading", "[2]", "--timeout", "60"], env=env
        )
        try:
            waiting = {pub.wait_for_line("waiting up to 60 s") for _ in range(2)}
            assert waiting == {
                f"waiting up to 60 s for `{node}` to listen on sensor/reading"
                for node in ("late", "slow")
            }
            gate.touch()
            assert pub.wait(90) == 0, pub.output
        finally:
            pub.kill_tree()
        assert pub.lines[2:] == ["Published to sensor/reading"]

        for node, expected in (
            ("near", ["[1]", "[2]"]),
            ("far", ["[1]", "[2]"]),
            ("slow", ["[2]"]),
            ("late", ["[2]"]),
        ):
            assert read_all(out / f"log_{node}.jsonl", node, len(expected)) == expected
    finally:
        gate.touch()
        stop(uuid, env)


@pytest.mark.timeout(180)
def test_pub_fails_when_a_daemon_goes_away_while_it_waits(
    tmp_path: Path, cluster: list[Proc]
) -> None:
    env = two_daemons(cluster)
    beta = cluster[2]
    gate = tmp_path / "gate"
    flow = write_flow(tmp_path / "flow", reader("near", "alpha") + reader("late", "beta", gate))
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    wait_until(lambda: listening(uuid, "near"), what="near listening")
    pub = DoraProcess(
        ["topic", "pub", "-d", uuid, "sensor/reading", "[1]", "--timeout", "60"], env=env
    )
    try:
        pub.wait_for_line("waiting up to 60 s for `late` to listen on sensor/reading")
        # the machine running `late` goes away: the daemon first (had its nodes died
        # first, it could answer that the dataflow is stopping), then its nodes
        nodes = psutil.Process(beta.pid).children(recursive=True)
        beta.proc.kill()
        beta.proc.wait(10)
        for node in nodes:
            with contextlib.suppress(psutil.NoSuchProcess):
                node.kill()
        assert pub.wait(90) == 1, pub.output
    finally:
        pub.kill_tree()
    assert pub.lines[-1] == (
        "error: the message on `sensor/reading` did not reach every reader: daemon beta "
        "stopped answering while it waited for node `late` (is the daemon still running?); "
        "it reached node `near`"
    )
    # the rest of the dataflow (on alpha) goes with the cluster: it waits for beta
