"""Issue 13 item 3: a control client that sends requests and never reads its replies.

Before the bound, 1,500 ``info`` requests against a dataflow with a 1 MB descriptor took
the coordinator from 61 MB to 1.5 GB. Now the replies waiting for one client are bounded
(``--max-reply-backlog``, 16 MiB by default) and such a client is disconnected, while
the others go on being served.
"""

from __future__ import annotations

import threading

import pytest

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from tests.coordinator.bounds import (
    MIB,
    ask,
    big_descriptor,
    control,
    coordinator_any_port,
    peak_rss_mb,
    rss_mb,
    start_dataflow,
)
from tests.coordinator.helpers import start_daemon
from tests.coordinator.raw_ws import RawWebSocket
from tests.procs import run_dora

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REQUESTS = 1500
# the backlog (16 MiB), the socket buffers and one reply being encoded, with room to spare;
# without the bound the same flood costs about 1.5 GB
ALLOWED_GROWTH_MB = 200


def flood(bad: RawWebSocket, uuid: str) -> None:
    """Hello, then ``info`` requests as fast as the socket takes them; never a read."""
    bad.send_text(cli.encode_request(1, cli.Hello(protocol_version=cli.CONTROL_PROTOCOL_VERSION)))
    try:
        for request_id in range(2, REQUESTS + 2):
            bad.send_text(cli.encode_request(request_id, cli.GetDataflow(dataflow=uuid)))
    except OSError:
        pass  # the coordinator hung up on us: what this test expects


def test_a_client_that_does_not_read_is_disconnected() -> None:
    with coordinator_any_port() as (coordinator, port):
        daemon = start_daemon(port)
        try:
            with control(port) as good:
                uuid = start_dataflow(good, 2, big_descriptor())
                details = ask(good, 4, cli.GetDataflow(dataflow=uuid))
                assert isinstance(details.result, to_cli.DataflowDetails)
                baseline = rss_mb(coordinator.pid)

                bad = RawWebSocket.open(port, "/api/control")
                sender = threading.Thread(target=flood, args=(bad, uuid), daemon=True)
                sender.start()
                line = coordinator.wait_for_line("does not read its replies", timeout=120)
                assert "closing control connection from 127.0.0.1" in line
                assert f"limit {16 * MIB}" in line
                sender.join(timeout=60)
                assert bad.closed_by_peer(timeout=60)
                bad.close()

                growth = peak_rss_mb(coordinator.pid) - baseline
                assert growth < ALLOWED_GROWTH_MB, f"coordinator grew by {growth:.0f} MB"
                # the client that reads was served all along, and still is
                again = ask(good, 5, cli.GetDataflow(dataflow=uuid))
                assert isinstance(again.result, to_cli.DataflowDetails)
                assert again.result.summary.uuid == uuid
            listing = run_dora(["list"], env={"DORA_COORDINATOR_PORT": str(port)})
            assert listing.returncode == 0, listing.stderr
            assert uuid in listing.stdout
        finally:
            daemon.kill()


def test_a_small_backlog_is_configurable_and_a_reader_is_not_cut_off() -> None:
    """Each reply fits alone; only replies piling up unread count against the bound."""
    with coordinator_any_port("--max-reply-backlog", str(2 * MIB)) as (coordinator, port):
        daemon = start_daemon(port)
        try:
            with control(port) as reader:
                uuid = start_dataflow(reader, 2, big_descriptor(3 * MIB // 4))
                # one at a time, each 0.75 MB reply is read before the next is asked for
                for request_id in range(10, 30):
                    reply = ask(reader, request_id, cli.GetDataflow(dataflow=uuid))
                    assert isinstance(reply.result, to_cli.DataflowDetails)
                bad = RawWebSocket.open(port, "/api/control")
                flood(bad, uuid)
                line = coordinator.wait_for_line("does not read its replies", timeout=120)
                assert f"limit {2 * MIB}" in line
                assert bad.closed_by_peer(timeout=60)
                bad.close()
                reply = ask(reader, 40, cli.GetDataflow(dataflow=uuid))
                assert isinstance(reply.result, to_cli.DataflowDetails)
        finally:
            daemon.kill()


def test_the_total_of_all_backlogs_is_bounded_too() -> None:
    """Many clients each under their own limit: the largest backlog is cut."""
    args = ("--max-reply-backlog", str(16 * MIB), "--max-reply-backlog-total", str(3 * MIB))
    with coordinator_any_port(*args) as (coordinator, port):
        daemon = start_daemon(port)
        try:
            with control(port) as reader:
                uuid = start_dataflow(reader, 2, big_descriptor())
                bad = RawWebSocket.open(port, "/api/control")
                flood(bad, uuid)
                line = coordinator.wait_for_line("does not read its replies", timeout=120)
                assert f"the most of all clients, whose total is limited to {3 * MIB}" in line
                assert bad.closed_by_peer(timeout=60)
                bad.close()
                reply = ask(reader, 40, cli.GetDataflow(dataflow=uuid))
                assert isinstance(reply.result, to_cli.DataflowDetails)
        finally:
            daemon.kill()
