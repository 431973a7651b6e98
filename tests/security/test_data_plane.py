"""Issue 13 item 1: nobody but the dataflow's own processes gets into its data plane.

Real ``dora run`` dataflows with a Python, a C and an operator-runtime receiver. The
attacks of the issue run in a forked child as ``nobody`` and as our own user without
the secrets, and, to show that seals and descriptor bounds hold on their own, as an
insider who has the sender's link token. Every attack must fail while the receiver
keeps receiving the sender's numbers: nothing forged arrives, nothing stops, nothing
crashes, no descriptor is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.security import attacks
from tests.security.flow import Flow

pytestmark = pytest.mark.integration

KINDS = ["python", "c", "operator"]  # the operator runtime hosts its operators in a node


@pytest.fixture(params=KINDS)
def flow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flow]:
    running = Flow(tmp_path / request.param, request.param)
    try:
        yield running
    finally:
        running.close()


def other_user() -> tuple[int, int]:
    who = attacks.nobody()
    if who is None:
        pytest.skip("switching to another uid needs root (the test runs unprivileged)")
    return who


def check_unharmed(flow: Flow, pid: int, fds_before: int) -> None:
    """The receiver is the same process, still receiving, and saw nothing forged."""
    flow.wait_for_numbers(20)
    assert flow.receiver_pid == pid
    assert flow.trouble() == []
    # the flood left nothing behind (a little slack for the node's own sockets)
    assert flow.fd_count() <= fds_before + 4


def data_attacks(flow: Flow, who: tuple[int, int] | None, token: str) -> dict[str, dict]:
    args = (flow.receiver_address, flow.dataflow_id, token)
    return {
        "forge": attacks.run_as(who, attacks.forge, *args),
        "shrink": attacks.run_as(who, attacks.shrink, *args),
        "fd_flood": attacks.run_as(who, attacks.fd_flood, *args),
    }


def hijack_during_restart(flow: Flow, who: tuple[int, int] | None, secret: str) -> dict:
    """Kill the receiver, try to take its slot while the daemon waits to restart it."""
    old = flow.receiver_pid
    flow.kill_receiver()
    flow.dora.wait_for_line("node receiver exited")
    result = attacks.run_as(
        who, attacks.hijack, flow.daemon_address, flow.dataflow_id, "receiver", secret
    )
    line = flow.dora.wait_for_line("receiver: start pid=")  # the real one comes back
    flow.receiver_pid = int(line.split("pid=")[1].split()[0])
    assert flow.receiver_pid != old
    return result


@pytest.mark.timeout(120)
def test_attacks_as_another_user_fail(flow: Flow) -> None:
    who = other_user()
    token = flow.config_of(flow.sender_pid())["routes"]["out"][0]["token"]  # type: ignore[index]
    before = flow.fd_count()
    pid = flow.receiver_pid
    # even with the right token: the connection is refused on accept (SO_PEERCRED)
    results = data_attacks(flow, who, token)
    for name, result in results.items():
        assert result.get("uid") == who[0], (name, result)
        assert result["peer_closed"], (name, result)
    check_unharmed(flow, pid, before)

    secret = str(flow.config_of(flow.receiver_pid)["secret"])
    hijack = hijack_during_restart(flow, who, secret)
    assert hijack["uid"] == who[0]
    assert not hijack["accepted"] and not hijack["replied"], hijack  # closed unanswered
    flow.wait_for_numbers(20)
    assert flow.trouble() == []


@pytest.mark.timeout(120)
def test_attacks_without_the_secrets_fail(flow: Flow) -> None:
    before = flow.fd_count()
    pid = flow.receiver_pid
    for token in ("", "0" * 64):
        for name, result in data_attacks(flow, None, token).items():
            assert result["peer_closed"], (name, result)
    check_unharmed(flow, pid, before)

    hijack = hijack_during_restart(flow, None, "0" * 64)
    assert not hijack["accepted"], hijack
    assert "wrong or missing secret" in hijack["error"]
    flow.wait_for_numbers(20)
    assert flow.trouble() == []
    assert "0" * 64 not in flow.dora.output  # a secret is never logged, not even a wrong one


@pytest.mark.timeout(120)
def test_an_insider_with_a_token_cannot_crash_flood_or_take_a_slot(flow: Flow) -> None:
    # the link token lets a process of our user speak as the sender; seals, descriptor
    # bounds and the restart rule still hold
    token = flow.config_of(flow.sender_pid())["routes"]["out"][0]["token"]  # type: ignore[index]
    before = flow.fd_count()
    pid = flow.receiver_pid
    shrink = attacks.run_as(None, attacks.shrink, flow.receiver_address, flow.dataflow_id, token)
    assert shrink["unsealed"] and shrink["undersized"], shrink
    flood = attacks.run_as(None, attacks.fd_flood, flow.receiver_address, flow.dataflow_id, token)
    assert flood["peer_closed"], flood  # what it queued is freed with the connection
    check_unharmed(flow, pid, before)

    secret = str(flow.config_of(flow.receiver_pid)["secret"])
    hijack = hijack_during_restart(flow, None, secret)
    assert not hijack["accepted"], hijack
    assert "no process of this node is running" in hijack["error"]
    flow.wait_for_numbers(20)
    assert flow.trouble() == []
    # never in a log, a socket name or an argv
    assert secret not in flow.dora.output and token not in flow.dora.output
    names = Path("/proc/net/unix").read_text()
    assert secret not in names and token not in names
    for pid in (flow.receiver_pid, flow.sender_pid()):
        argv = " ".join(psutil.Process(pid).cmdline())
        assert secret not in argv and token not in argv
