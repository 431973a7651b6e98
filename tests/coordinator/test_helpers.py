"""The process helpers clean up after themselves when a readiness wait fails."""

from __future__ import annotations

import socket

import psutil
import pytest

from tests.coordinator.helpers import refused_port, start_coordinator, start_daemon


def new_children(before: set[int]) -> list[psutil.Process]:
    """Children of this test process started since ``before`` and not yet reaped."""
    return [p for p in psutil.Process().children() if p.pid not in before]


@pytest.mark.timeout(60)
def test_a_daemon_that_never_registers_is_killed() -> None:
    before = {p.pid for p in psutil.Process().children()}
    with refused_port() as port, pytest.raises(TimeoutError):
        start_daemon(port, timeout=3.0)  # nobody listens: it would retry for ever
    assert new_children(before) == []


@pytest.mark.timeout(60)
def test_a_coordinator_that_cannot_listen_is_reaped() -> None:
    before = {p.pid for p in psutil.Process().children()}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(EOFError):  # it exits: the port is in use
            start_coordinator(taken.getsockname()[1])
    assert new_children(before) == []


@pytest.mark.timeout(60)
def test_the_refused_port_refuses_and_the_coordinator_reports_its_own() -> None:
    with refused_port() as port:
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass
        coordinator = start_coordinator()
        try:
            assert coordinator.port not in (0, port)
            socket.create_connection(("127.0.0.1", coordinator.port), timeout=10).close()
        finally:
            coordinator.kill()
