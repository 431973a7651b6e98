"""Issue 13 item 3, the other half: requests of one connection that wait do not pile up.

At most 64 requests of one control connection run at once; the frames after them stay
unread (TCP pushes back on the client) until one finishes. Shown with a daemon that holds
a spawn: 100 ``wait_for_spawn`` requests, then a ``list``. The ``list`` is read, and
answered, only once the spawn is answered and the first waits are done.
"""

from __future__ import annotations

import json
import uuid as uuid_module

import pytest
from websockets.sync.client import connect

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from dora_message import daemon_to_coordinator as from_daemon
from tests.coordinator.bounds import ask, big_descriptor, control, coordinator_any_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

WAITS = 100
IN_FLIGHT = 64
LIST_ID = 999


def test_waiting_requests_of_one_connection_are_bounded() -> None:
    with coordinator_any_port() as (_, port):
        url = f"ws://127.0.0.1:{port}/api/daemon"
        with connect(url, open_timeout=10, proxy=None) as daemon, control(port) as client:
            register = from_daemon.Register(
                protocol_version=from_daemon.DAEMON_PROTOCOL_VERSION,
                instance_id=str(uuid_module.uuid4()),
            )
            daemon.send(from_daemon.encode_frame(from_daemon.EventFrame(event=register)))
            assert json.loads(daemon.recv(timeout=30))["event"]["type"] == "registered"

            started = ask(client, 2, cli.StartDataflow(descriptor=big_descriptor(10)))
            assert isinstance(started.result, to_cli.DataflowStarted), started
            uuid = started.result.uuid
            while (command := json.loads(daemon.recv(timeout=30)))["kind"] != "request":
                pass  # heartbeats
            assert command["command"]["type"] == "spawn"

            for request_id in range(10, 10 + WAITS):
                client.send(cli.encode_request(request_id, cli.WaitForSpawn(dataflow=uuid)))
            client.send(cli.encode_request(LIST_ID, cli.ListDataflows()))
            done = from_daemon.ReplyFrame(id=command["id"], result=from_daemon.Done())
            daemon.send(from_daemon.encode_frame(done))

            order = []
            while len(order) < WAITS + 1:
                frame = to_cli.decode_frame(client.recv(timeout=60))
                if isinstance(frame, to_cli.Reply):
                    assert frame.error is None, frame
                    order.append(frame.id)
            assert sorted(order) == [*range(10, 10 + WAITS), LIST_ID]
            assert order.index(LIST_ID) >= IN_FLIGHT, order
