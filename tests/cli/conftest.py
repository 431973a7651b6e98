"""Fixtures shared by this folder's tests."""

from __future__ import annotations

import pytest

from tests.cli.helpers import env_for
from tests.coordinator.helpers import Proc, cluster, start_coordinator, start_daemon, unused_port

__all__ = ["cluster", "coordinated", "unused_port"]


@pytest.fixture
def coordinated(cluster: list[Proc]) -> dict[str, str]:
    """A coordinator and one daemon on loopback (stopped by ``cluster``); the environment
    that points ``dora`` at them."""
    procs = cluster
    procs.append(coordinator := start_coordinator())
    procs.append(start_daemon(coordinator.port))
    return env_for(coordinator.port)


@pytest.fixture
def procs(cluster: list[Proc]) -> list[Proc]:
    """Processes a test starts; each killed (with its descendants) by PID at the end
    (``cluster``'s list, under the name this folder's tests use)."""
    return cluster
