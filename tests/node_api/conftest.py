"""Fixtures for node API tests: a fake daemon and node processes that are always cleaned up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bench.fake_daemon import FakeDaemon
from dora import Node
from dora_message.config import InputConfig
from tests.node_api.node_process import NodeProcess


class Harness:
    """Creates daemons and node processes; tears all of them down."""

    def __init__(self) -> None:
        self.daemons: list[FakeDaemon] = []
        self.procs: list[NodeProcess] = []

    def daemon(self, expected: list[str], **kwargs: Any) -> FakeDaemon:
        daemon = FakeDaemon(expected, **kwargs)
        self.daemons.append(daemon)
        return daemon

    def spawn(self, script: str, config: Any, **env: str) -> NodeProcess:
        proc = NodeProcess(script, config, env)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for daemon in self.daemons:
            daemon.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def node_pair() -> Iterator[tuple[Node, Node]]:
    """A receiving and a sending node in this process, through a fake daemon: ``tx``'s
    output ``out`` feeds ``rx``'s input ``in`` (queue of 100)."""
    daemon = FakeDaemon(["tx", "rx"])
    configs = daemon.configs(
        {
            "tx": {"outputs": ["out"]},
            "rx": {"inputs": {"in": InputConfig(source="tx/out", queue_size=100)}},
        }
    )
    nodes: dict[str, Node] = {}

    def start(node_id: str) -> None:
        node = Node.__new__(Node)
        node._closed = True
        node._start(configs[node_id])  # both must register before either starts
        nodes[node_id] = node

    thread = threading.Thread(target=start, args=("rx",), daemon=True)
    thread.start()
    try:
        start("tx")
        thread.join(timeout=20)
        yield nodes["rx"], nodes["tx"]
    finally:
        for node in nodes.values():
            node.close()
        daemon.close()
