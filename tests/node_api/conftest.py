"""Fixtures for node API tests: a fake daemon and node processes that are always cleaned up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.node_api.fake_daemon import FakeDaemon, NodeProcess


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
