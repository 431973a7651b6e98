"""Issue 13 item 4: idle connections that never say hello, and a full connection pool.

Before: 255 idle connections on ``/api/control`` locked every client out for over a
minute, and the CLI answered the HTTP 503 with "Could not connect… run `dora up`". Now
the hello has a deadline (``--hello-timeout``, 10 s by default), one address may hold at
most ``--max-connections-per-address`` (64) connections, and the CLI says the
coordinator is busy.
"""

from __future__ import annotations

import pytest

from dora_message import cli_to_coordinator as cli
from tests.coordinator.bounds import coordinator_any_port, peak_rss_mb, rss_mb
from tests.coordinator.raw_ws import HandshakeRefused, RawWebSocket
from tests.procs import run_dora

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ALLOWED_GROWTH_MB = 50  # 64 idle connections and 191 refusals cost a few MB


def open_idle(
    port: int, count: int, path: str = "/api/control"
) -> tuple[list[RawWebSocket], list[HandshakeRefused]]:
    """Up to ``count`` upgraded connections that then say nothing, and the refusals."""
    idle: list[RawWebSocket] = []
    refused: list[HandshakeRefused] = []
    for _ in range(count):
        try:
            idle.append(RawWebSocket.open(port, path))
        except HandshakeRefused as error:
            refused.append(error)
    return idle, refused


def dora_list(port: int) -> tuple[int, str, str]:
    result = run_dora(["list"], env={"DORA_COORDINATOR_PORT": str(port)})
    return result.returncode, result.stdout, result.stderr


def test_idle_connections_are_closed_after_the_hello_deadline() -> None:
    with coordinator_any_port("--hello-timeout", "2") as (coordinator, port):
        baseline = rss_mb(coordinator.pid)
        idle, refused = open_idle(port, 255)
        try:
            # one address gets 64 connections (the default), the rest is refused before
            # the upgrade, with the reason
            assert len(idle) == 64
            assert {error.status for error in refused} == {503}
            assert b"too many connections from 127.0.0.1 (limit 64 per address)" in (
                refused[0].body
            )
            code, _, stderr = dora_list(port)
            assert code == 1
            assert "coordinator busy (503)" in stderr
            assert "limit 64 per address" in stderr
            assert "dora up" not in stderr and "Traceback" not in stderr

            for ws in idle:
                assert ws.closed_by_peer(timeout=60)
            coordinator.wait_for_line("no hello within 2 s")
        finally:
            for ws in idle:
                ws.close()
        code, stdout, stderr = dora_list(port)
        assert code == 0, stderr
        assert "UUID" in stdout
        growth = peak_rss_mb(coordinator.pid) - baseline
        assert growth < ALLOWED_GROWTH_MB, f"coordinator grew by {growth:.0f} MB"


def test_the_total_bound_refuses_with_503_and_a_greeted_client_stays() -> None:
    with coordinator_any_port(
        "--hello-timeout", "2", "--max-connections", "8", "--max-connections-per-address", "100"
    ) as (_, port):
        idle, refused = open_idle(port, 8)
        try:
            assert len(idle) == 8 and not refused
            with pytest.raises(HandshakeRefused) as busy:
                RawWebSocket.open(port, "/api/control")
            assert busy.value.status == 503
            assert b"too many connections (limit 8)" in busy.value.body
            code, _, stderr = dora_list(port)
            assert code == 1 and "coordinator busy (503)" in stderr
            for ws in idle:
                assert ws.closed_by_peer(timeout=60)
        finally:
            for ws in idle:
                ws.close()
        # the slots are free again once the sockets are gone; a client that said hello
        # may stay idle past the deadline (here: past the moment its silent twin is cut)
        greeted = RawWebSocket.open(port, "/api/control")
        silent = RawWebSocket.open(port, "/api/control")
        try:
            hello = cli.Hello(protocol_version=cli.CONTROL_PROTOCOL_VERSION)
            greeted.send_text(cli.encode_request(1, hello))
            assert silent.closed_by_peer(timeout=60)
            assert not greeted.closed_by_peer(timeout=0.5)
            code, _, stderr = dora_list(port)
            assert code == 0, stderr
        finally:
            greeted.close()
            silent.close()


def test_a_daemon_connection_that_never_registers_is_closed() -> None:
    with coordinator_any_port("--hello-timeout", "1") as (coordinator, port):
        idle, refused = open_idle(port, 3, "/api/daemon")
        try:
            assert len(idle) == 3 and not refused
            for ws in idle:
                assert ws.closed_by_peer(timeout=60)
            coordinator.wait_for_line("refused: no register event within 1 s")
        finally:
            for ws in idle:
                ws.close()
