"""Issue 13 item 5: frames on ``/api/daemon`` before the daemon has registered.

Before: ``/api/daemon`` took 64 MiB frames from anyone who connected (six of them took
the coordinator from 283 MB to 970 MB). Now every frame is limited to 1 MiB until the
daemon has registered (spec/runtime.md §15); a registered daemon may send 64 MiB.
"""

from __future__ import annotations

import json
import uuid as uuid_module

import pytest
from websockets.sync.client import connect

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from dora_message import daemon_to_coordinator as from_daemon
from tests.coordinator.bounds import MIB, ask, control, coordinator_any_port, peak_rss_mb, rss_mb
from tests.coordinator.raw_ws import RawWebSocket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ATTACKERS = 6
# six announced 64 MiB frames, of which 2 MiB each are sent; refused after the header
ALLOWED_GROWTH_MB = 60


def test_an_oversized_frame_before_registration_is_refused() -> None:
    with coordinator_any_port() as (coordinator, port):
        baseline = rss_mb(coordinator.pid)
        for _ in range(ATTACKERS):
            ws = RawWebSocket.open(port, "/api/daemon")
            try:
                ws.send_header(64 * MIB)
                try:
                    for _ in range(2):
                        ws.sock.sendall(b"x" * MIB)
                except OSError:
                    pass  # already cut off
                assert ws.closed_by_peer(timeout=60)
            finally:
                ws.close()
            line = coordinator.wait_for_line("a frame over")
            assert "refused a daemon connection from 127.0.0.1" in line
            assert f"a frame over {MIB} bytes before registration" in line
        growth = peak_rss_mb(coordinator.pid) - baseline
        assert growth < ALLOWED_GROWTH_MB, f"coordinator grew by {growth:.0f} MB"
        with control(port) as ws:  # and the coordinator goes on serving
            assert isinstance(ask(ws, 2, cli.ListDaemons()).result, to_cli.DaemonList)


def test_a_registered_daemon_may_send_large_frames() -> None:
    with coordinator_any_port() as (coordinator, port):
        url = f"ws://127.0.0.1:{port}/api/daemon"
        with connect(url, open_timeout=10, proxy=None) as daemon:
            register = from_daemon.Register(
                protocol_version=from_daemon.DAEMON_PROTOCOL_VERSION,
                instance_id=str(uuid_module.uuid4()),
                machine_id="big-frames",
            )
            daemon.send(from_daemon.encode_frame(from_daemon.EventFrame(event=register)))
            reply = json.loads(daemon.recv(timeout=30))
            assert reply["event"]["type"] == "registered", reply
            # 2 MiB: over the limit before registration, well within it after
            daemon.send(json.dumps({"kind": "event", "padding": "x" * (2 * MIB)}))
            coordinator.wait_for_line("daemon big-frames sent an unreadable frame")
            heartbeat = from_daemon.EventFrame(event=from_daemon.Heartbeat())
            daemon.send(from_daemon.encode_frame(heartbeat))
            with control(port) as ws:
                listing = ask(ws, 2, cli.ListDaemons())
                assert isinstance(listing.result, to_cli.DaemonList)
                assert [d.daemon_id for d in listing.result.daemons] == ["big-frames"]
