"""A daemon reports its zenoh endpoint after registering; later registrations wait for it.

The daemon's zenoh session binds port 0 once the daemon is registered, so the
endpoint comes in a ``zenoh_listening`` event. A daemon registering meanwhile must not
be told an empty peer list (neither daemon would dial the other): its ``registered``
waits. Fake daemons on real WebSockets against a real coordinator.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from dora_coordinator.zenoh_wait import SETTLE_TIMEOUT
from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from dora_message import daemon_to_coordinator as from_daemon
from tests.coordinator.bounds import ask, control, coordinator_any_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def register(daemon: ClientConnection, machine: str, instance_id: str = "", **fields: Any) -> None:
    event = from_daemon.Register(
        protocol_version=from_daemon.DAEMON_PROTOCOL_VERSION,
        instance_id=instance_id or str(uuid_module.uuid4()),
        machine_id=machine,
        **fields,
    )
    daemon.send(from_daemon.encode_frame(from_daemon.EventFrame(event=event)))


def registered(daemon: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    reply = json.loads(daemon.recv(timeout=timeout))
    assert reply["event"]["type"] == "registered", reply
    return dict(reply["event"])


def test_a_registration_waits_for_the_endpoint_of_a_daemon_still_opening() -> None:
    with coordinator_any_port() as (coordinator, port):
        url = f"ws://127.0.0.1:{port}/api/daemon"
        with connect(url, proxy=None) as alpha, connect(url, proxy=None) as beta:
            register(alpha, "alpha", zenoh_pending=True)
            assert registered(alpha).get("peer_endpoints", []) == []
            register(beta, "beta", zenoh_endpoints=["tcp/127.0.0.1:7002"])
            coordinator.wait_for_line("registration waits for the zenoh endpoints of alpha")
            listening = from_daemon.ZenohListening(endpoints=["tcp/127.0.0.1:7001"])
            alpha.send(from_daemon.encode_frame(from_daemon.EventFrame(event=listening)))
            assert registered(beta)["peer_endpoints"] == ["tcp/127.0.0.1:7001"]
            with control(port) as ws:
                listing = ask(ws, 2, cli.ListDaemons()).result
                assert isinstance(listing, to_cli.DaemonList)
                endpoints = {d.daemon_id: d.zenoh_endpoints for d in listing.daemons}
                assert endpoints == {
                    "alpha": ["tcp/127.0.0.1:7001"],
                    "beta": ["tcp/127.0.0.1:7002"],
                }


def test_a_pending_daemon_that_leaves_releases_the_wait() -> None:
    with coordinator_any_port() as (coordinator, port):
        url = f"ws://127.0.0.1:{port}/api/daemon"
        with connect(url, proxy=None) as beta:
            with connect(url, proxy=None) as alpha:
                register(alpha, "alpha", zenoh_pending=True)
                registered(alpha)
                register(beta, "beta")
                coordinator.wait_for_line("registration waits for the zenoh endpoints of alpha")
            # alpha closed without ever saying where it listens: beta is answered at once,
            # well before the wait's own timeout would have let it through
            reply = registered(beta, timeout=SETTLE_TIMEOUT / 2)
            assert reply.get("peer_endpoints", []) == []


def test_a_pending_daemon_registering_again_does_not_wait_for_itself() -> None:
    with coordinator_any_port() as (coordinator, port):
        url = f"ws://127.0.0.1:{port}/api/daemon"
        instance = str(uuid_module.uuid4())
        with connect(url, proxy=None) as first, connect(url, proxy=None) as second:
            register(first, "alpha", instance, zenoh_pending=True)
            registered(first)
            # its first session is still open (and pending) when it registers again
            register(second, "alpha", instance, zenoh_endpoints=["tcp/127.0.0.1:7001"])
            registered(second)
            coordinator.wait_for_line("daemon alpha registered again")
            assert not [line for line in coordinator.output() if "registration waits" in line]
