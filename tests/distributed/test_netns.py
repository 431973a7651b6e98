"""Two daemons in separate Linux network namespaces joined by a veth pair.

The test creates namespaces ``dora-a-*`` and ``dora-b-*``, a veth pair between them
with 10.231.0.1/24 and 10.231.0.2/24 (addresses that exist only inside those
namespaces), runs the coordinator and daemon alpha in the first and daemon beta in the
second, and checks that a split dataflow delivers everything in order while the bytes
really cross the veth interface. Everything is removed at the end; the test is skipped
(with the kernel's answer) where namespaces or veth pairs cannot be created.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.distributed.helpers import Cluster, numbered_flow, started_uuid

pytestmark = pytest.mark.integration

ADDR_A = "10.231.0.1"
ADDR_B = "10.231.0.2"


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@dataclass
class Pair:
    """Two namespaces and the veth ends inside them."""

    ns_a: str
    ns_b: str
    veth_a: str
    veth_b: str

    def exec_in(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]

    def rx_bytes(self) -> int:
        """Bytes received so far on beta's end of the pair."""
        shown = ip("-n", self.ns_b, "-j", "-s", "link", "show", self.veth_b)
        assert shown.returncode == 0, shown.stderr
        return int(json.loads(shown.stdout)[0]["stats64"]["rx"]["bytes"])


@pytest.fixture
def pair() -> Iterator[Pair]:
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is not installed")
    tag = str(os.getpid() % 100_000)
    pair = Pair(f"dora-a-{tag}", f"dora-b-{tag}", f"dva{tag}", f"dvb{tag}")
    created: list[str] = []
    try:
        for namespace in (pair.ns_a, pair.ns_b):
            made = ip("netns", "add", namespace)
            if made.returncode != 0:
                pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
            created.append(namespace)
        link = ip(
            "link", "add", pair.veth_a, "netns", pair.ns_a, "type", "veth",
            "peer", "name", pair.veth_b, "netns", pair.ns_b,
        )  # fmt: skip
        if link.returncode != 0:
            pytest.skip(f"cannot create a veth pair: {link.stderr.strip()}")
        for namespace, device, address in (
            (pair.ns_a, pair.veth_a, ADDR_A),
            (pair.ns_b, pair.veth_b, ADDR_B),
        ):
            for command in (
                ("addr", "add", f"{address}/24", "dev", device),
                ("link", "set", device, "up"),
                ("link", "set", "lo", "up"),
            ):
                done = ip("-n", namespace, *command)
                assert done.returncode == 0, done.stderr
        yield pair
    finally:
        for namespace in created:  # removing a namespace removes its veth end (and pair)
            ip("netns", "del", namespace)
        left = ip("netns", "list").stdout
        assert pair.ns_a not in left and pair.ns_b not in left


@pytest.mark.timeout(180)
def test_split_dataflow_across_network_namespaces(tmp_path: Path, pair: Pair) -> None:
    in_a, in_b = pair.exec_in(pair.ns_a), pair.exec_in(pair.ns_b)
    cluster = Cluster(addr=ADDR_A)  # port 0: the coordinator picks, Cluster reads it
    try:
        cluster.coordinator(in_a)
        alpha = cluster.daemon("alpha", in_a)
        beta = cluster.daemon("beta", in_b)
        # each daemon listens on the address it uses toward the coordinator
        assert f"tcp/{ADDR_A}:" in alpha.wait_for_line("zenoh session listening on")
        line = beta.wait_for_line("zenoh session listening on")
        assert f"tcp/{ADDR_B}:" in line and f"dialing ['tcp/{ADDR_A}:" in line

        before = pair.rx_bytes()
        flow = numbered_flow(tmp_path / "flow", source="alpha", sink="beta")
        uuid = started_uuid(cluster.dora(["start", str(flow), "--detach"], in_a))
        assert cluster.wait_ended(uuid, in_a) == "Succeeded"
        logs = cluster.dora(["logs", uuid, "sink"], in_a)
        assert "sink: small=2000 big=20 mixed=50 in order" in logs.stdout, logs.stdout + logs.stderr
        # 20 MiB of big messages went from alpha to beta through the veth pair
        assert pair.rx_bytes() - before > 20 * 1024 * 1024
    finally:
        cluster.kill_all()
