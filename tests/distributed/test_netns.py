"""Two daemons in separate Linux network namespaces joined by a veth pair.

The namespaces and the veth pair are the benchmark's (``bench/netns_link.py``: addresses
that exist only inside the namespaces, everything removed at the end). The test runs the
coordinator and daemon alpha in the first namespace and daemon beta in the second, and
checks that a split dataflow delivers everything in order while the bytes really cross
the veth interface. It is skipped (with the kernel's answer) where namespaces or veth
pairs cannot be created.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.helpers import Cluster, numbered_flow, started_uuid

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:  # bench/ is a folder of scripts, not a package
    sys.path.insert(0, str(BENCH))

from netns_link import ADDR_A, ADDR_B, NetnsError, VethPair, veth_pair  # noqa: E402

pytestmark = pytest.mark.integration


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.fixture
def pair() -> Iterator[VethPair]:
    try:
        with veth_pair() as pair:
            yield pair
    except NetnsError as error:
        pytest.skip(str(error))
    left = _namespaces()
    assert pair.ns_a not in left and pair.ns_b not in left


@pytest.mark.timeout(180)
def test_split_dataflow_across_network_namespaces(tmp_path: Path, pair: VethPair) -> None:
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
