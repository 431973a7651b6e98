"""A node's start around the start barrier: what needs no other node (its threads among
it) is done while it waits there, yet the daemon hears nothing but its registration until
the barrier releases, and a start that fails leaves nothing running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import dora.node
from bench.fake_daemon import FakeDaemon
from dora import Node
from dora._inbox import Inbox
from dora_message.config import InputConfig, NodeConfig
from dora_message.dataplane.sockets import listen_socket
from dora_message.node_protocol import Heartbeat, Subscribe

pytestmark = pytest.mark.timeout(60)

# beats and input checks every 10 ms: due many times over while the node waits
WATCHED = {
    "inputs": {"in": InputConfig(source="b/out", input_timeout=0.1)},
    "descriptor": {"health_check_timeout": 0.04},
}


def _unstarted() -> Node:
    node = Node.__new__(Node)
    node._closed = True  # as Node.__init__ leaves it for _start
    return node


def _node_threads(node_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(f"dora-{node_id}-")]


def _sent_by(daemon: FakeDaemon, node_id: str) -> list[str]:
    return [type(msg).__name__ for sender, msg in daemon.received if sender == node_id]


@pytest.fixture
def daemons() -> Iterator[list[FakeDaemon]]:
    made: list[FakeDaemon] = []
    yield made
    for daemon in made:
        daemon.close()


def test_a_node_at_the_barrier_has_its_threads_but_sends_nothing_until_released(
    monkeypatch: pytest.MonkeyPatch, daemons: list[FakeDaemon]
) -> None:
    checks = threading.Semaphore(0)

    class CountingInbox(Inbox):
        def expire(self) -> tuple[list[str], list[str]]:
            checks.release()  # the watch thread's input check ran once more
            return super().expire()

    monkeypatch.setattr(dora.node, "Inbox", CountingInbox)
    daemon = FakeDaemon(["a", "b"])
    daemons.append(daemon)
    configs = daemon.configs({"a": WATCHED, "b": {"outputs": ["out"]}})
    a, b = _unstarted(), _unstarted()
    failed: list[BaseException] = []

    def start_a() -> None:
        try:
            a._start(configs["a"])
        except BaseException as err:  # reported by the test thread
            failed.append(err)

    starting = threading.Thread(target=start_a, daemon=True)
    starting.start()
    try:
        daemon.wait_for(lambda got: ("a", Subscribe()) in got, timeout=20)
        while checks.acquire(blocking=False):  # count from the subscription on
            pass
        for _ in range(5):  # 50 ms past it: five beats were due
            assert checks.acquire(timeout=20)
        assert sorted(_node_threads("a")) == ["dora-a-io", "dora-a-watch"]
        assert _sent_by(daemon, "a") == ["Register", "Subscribe"]
        b._start(configs["b"])  # the last node: the barrier releases
        starting.join(timeout=20)
        assert not failed, failed
        daemon.wait_for(lambda got: ("a", Heartbeat()) in got, timeout=20)
    finally:
        starting.join(timeout=20)
        for node in (a, b):
            if not node._closed:
                node.close()


@pytest.mark.parametrize("watched", [False, True])
def test_a_refused_node_leaves_no_thread_or_socket_behind(
    watched: bool, daemons: list[FakeDaemon]
) -> None:
    daemon = FakeDaemon(["a"], register_error="refused by the test")
    daemons.append(daemon)
    config: NodeConfig = daemon.configs({"a": WATCHED if watched else {}})["a"]
    node = _unstarted()
    with pytest.raises(RuntimeError, match="refused by the test"):
        node._start(config)
    assert _node_threads("a") == []
    daemon.wait_for(lambda got: ("a", "EOF") in got, timeout=20)  # its connection closed
    listen_socket(config.listen_address).close()  # its data address is free again
    with pytest.raises(RuntimeError, match="closed"):
        node.send_output("out", b"x")
