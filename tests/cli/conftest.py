"""Fixtures shared by this folder's tests."""

from __future__ import annotations

import pytest

from tests.cli.helpers import env_for
from tests.coordinator.helpers import Proc, cluster, start_coordinator, start_daemon

__all__ = ["cluster", "coordinated"]


@pytest.fixture
def coordinated(cluster: tuple[int, list[Proc]]) -> dict[str, str]:
    """A coordinator and one daemon on loopback (stopped by ``cluster``); the environment
    that points ``dora`` at them."""
    port, procs = cluster
    procs.append(start_coordinator(port))
    procs.append(start_daemon(port))
    return env_for(port)
