"""Sans-I/O pieces of the data-plane rules: secrets, peer lookups, seals, fd bounds."""

from __future__ import annotations

import array
import fcntl
import os
import socket
from pathlib import Path

import pytest

from dora_daemon.dynamic import caller_refusal
from dora_daemon.resolve import ResolvedDataflow, resolve_dataflow
from dora_message.auth import link_token, new_key, node_secret, secret_matches
from dora_message.data_protocol import DropSegment, NewSegment, data_encoder
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.sockets import FrameReader
from dora_message.errors import ProtocolError
from dora_message.memfd import check_received, create_sealed, seal_problem
from dora_message.peer import parse_stat_session, tcp_owner_uid, uid_allowed
from tests.daemon.helpers import descriptor

pytestmark = pytest.mark.timeout(20)


def test_secrets_are_per_node_and_per_link_direction() -> None:
    key = new_key()
    assert node_secret(key, "a") != node_secret(key, "b")
    assert link_token(key, "a", "b") != link_token(key, "b", "a")
    assert link_token(key, "a", "b") != node_secret(key, "a")
    assert node_secret(new_key(), "a") != node_secret(key, "a")  # per run
    assert len(node_secret(key, "a")) == 64
    assert secret_matches(node_secret(key, "a"), node_secret(key, "a"))
    assert not secret_matches("", "")  # nothing expected: nothing matches
    assert not secret_matches("x", None)


def test_only_our_user_and_root_when_allowed() -> None:
    assert uid_allowed(1000, 1000, False)
    assert not uid_allowed(65534, 1000, False)
    assert not uid_allowed(0, 1000, False)
    assert uid_allowed(0, 1000, True)
    assert uid_allowed(0, 0, False)  # a daemon running as root is its own user
    assert caller_refusal(1000, 1000, False) is None
    assert "uid 65534" in (caller_refusal(65534, 1000, False) or "")
    assert "could not be identified" in (caller_refusal(None, 1000, False) or "")


def test_session_is_read_past_a_command_name_with_parentheses() -> None:
    stat = "4242 (a) b (c) S 1 4242 4240 0 -1 4194560 100"
    assert parse_stat_session(stat) == 4240
    assert parse_stat_session("garbage") is None


def test_tcp_socket_owner_from_proc_net_tcp() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:CF4B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 1 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:D2F0 0100007F:CF4B 01 00000000:00000000 00:00000000 00000000 65534 "
        "       0 2 1 0000000000000000 20 4 30 10 -1\n"
    )
    assert tcp_owner_uid(table, ("127.0.0.1", 0xD2F0), ("127.0.0.1", 0xCF4B)) == 65534
    assert tcp_owner_uid(table, ("127.0.0.1", 1), ("127.0.0.1", 0xCF4B)) is None


def test_segments_are_sealed_and_receivers_check_seals_and_size() -> None:
    fd = create_sealed("test", 65536)
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        assert seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW
        with pytest.raises(OSError):
            os.ftruncate(fd, 0)
        check_received(fd, 65536)
        with pytest.raises(ProtocolError, match="65536 bytes, 65537 were announced"):
            check_received(fd, 65537)
    finally:
        os.close(fd)
    plain = os.memfd_create("test")
    try:
        os.ftruncate(plain, 4096)
        with pytest.raises(ProtocolError, match="not sealed against shrinking"):
            check_received(plain, 4096)
    finally:
        os.close(plain)
    assert seal_problem(None, 10, True, 10) is not None  # not a memfd (no seals at all)
    assert seal_problem(fcntl.F_SEAL_SHRINK, 10, False, 10) is not None  # not a file


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("count", [2, 200])
def test_a_frame_with_several_descriptors_breaks_the_connection(count: int) -> None:
    a, b = socket.socketpair()
    devnull = os.open("/dev/null", os.O_RDONLY)
    try:
        before = open_fds()
        frame = encode_frame(data_encoder, DropSegment(1))
        a.sendmsg(
            [frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [devnull] * count))]
        )
        reader = FrameReader(with_fds=True)
        assert not reader.fill(b)
        assert reader.error is not None and "descriptors in one frame" in reader.error
        assert reader.fds == [] and open_fds() == before  # every one of them closed
    finally:
        os.close(devnull)
        a.close()
        b.close()


def test_one_descriptor_per_segment_frame_is_fine() -> None:
    a, b = socket.socketpair()
    fd = create_sealed("t", 65536)
    try:
        for segment in (1, 2, 3):
            frame = encode_frame(data_encoder, NewSegment(segment, 65536))
            a.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        reader = FrameReader(with_fds=True)
        got = 0
        while got < 3:
            assert reader.fill(b), reader.error
            got += len(reader.frames())
            got_fds = list(reader.fds)
            reader.fds.clear()  # the receiver maps and closes them as their frames come
            for received in got_fds:
                os.close(received)
    finally:
        os.close(fd)
        a.close()
        b.close()


def test_the_daemon_hands_out_secrets_and_the_root_option_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "n.py").write_text("")
    nodes = [
        {"id": "a", "path": "n.py", "outputs": ["x"]},
        {"id": "b", "path": "n.py", "inputs": {"in": "a/x"}},
    ]
    key = new_key()

    def resolve(env: dict[str, str]) -> ResolvedDataflow:
        return resolve_dataflow(
            descriptor(nodes),
            tmp_path,
            dataflow_id="df",
            daemon_address="\0dora-daemon-test",
            host_env=env,
            parent_pid=1,
            key=key,
        )

    plain = resolve({"PATH": "/usr/bin"})
    a, b = plain.nodes["a"], plain.nodes["b"]
    assert a.config.secret == node_secret(key, "a") and b.config.secret == node_secret(key, "b")
    assert a.config.routes["x"][0].token == b.config.senders["a"] == link_token(key, "a", "b")
    assert not a.config.allow_root_peers
    # secrets only ever in the config: not in argv, not in a repr
    assert not any(a.config.secret in arg for arg in a.argv)
    assert a.config.secret not in repr(a.config) and a.config.secret not in repr(plain)
    allowed = resolve({"PATH": "/usr/bin", "DORA_ALLOW_ROOT_PEERS": "1"})
    assert allowed.nodes["b"].config.allow_root_peers
