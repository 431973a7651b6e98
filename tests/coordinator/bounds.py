"""What the tests of the coordinator's bounds share: a coordinator on ``--port 0``, a
control client, big dataflows, and the memory of a process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from tests.coordinator.helpers import Proc

MIB = 1024 * 1024
MB = 1_000_000  # a 1 MB descriptor still fits in a 1 MiB control frame


def start_coordinator_any_port(*args: str) -> tuple[Proc, int]:
    """A coordinator on 127.0.0.1 port 0, and the port it printed once it listens."""
    proc = Proc("dora_coordinator", ["--port", "0", *args])
    try:
        line = proc.wait_for_line("dora-coordinator listening on")
    except BaseException:
        proc.kill()
        raise
    return proc, int(line.rsplit(":", 1)[1])


@contextlib.contextmanager
def coordinator_any_port(*args: str) -> Iterator[tuple[Proc, int]]:
    """:func:`start_coordinator_any_port`, killed by PID on the way out."""
    proc, port = start_coordinator_any_port(*args)
    try:
        yield proc, port
    finally:
        proc.kill()


@contextlib.contextmanager
def control(port: int) -> Iterator[ClientConnection]:
    """A control connection that has said hello."""
    url = f"ws://127.0.0.1:{port}/api/control"
    with connect(url, open_timeout=10, proxy=None, max_size=64 * MIB) as ws:
        reply = ask(ws, 1, cli.Hello(protocol_version=cli.CONTROL_PROTOCOL_VERSION))
        assert isinstance(reply.result, to_cli.HelloOk), reply
        yield ws


def ask(ws: ClientConnection, request_id: int, body: cli.ControlRequest) -> to_cli.Reply:
    """Send a request and return its reply (events in between are skipped)."""
    ws.send(cli.encode_request(request_id, body))
    while True:
        frame = to_cli.decode_frame(ws.recv(timeout=60))
        if isinstance(frame, to_cli.Reply) and frame.id == request_id:
            return frame


def big_descriptor(size: int = MB, nodes: tuple[str, ...] = ("n",)) -> dict[str, Any]:
    """A valid descriptor of about ``size`` bytes whose nodes exit at once."""
    return {
        "nodes": [{"id": node, "path": "/bin/true"} for node in nodes],
        "description": "x" * size,
    }


def start_dataflow(ws: ClientConnection, request_id: int, descriptor: dict[str, Any]) -> str:
    """Start it, wait until it has been spawned (or failed to), return its UUID."""
    started = ask(ws, request_id, cli.StartDataflow(descriptor=descriptor))
    assert isinstance(started.result, to_cli.DataflowStarted), started
    uuid = started.result.uuid
    ask(ws, request_id + 1, cli.WaitForSpawn(dataflow=uuid))
    return uuid


def dataflows(ws: ClientConnection, request_id: int) -> list[to_cli.DataflowSummary]:
    """``dora list`` over the control connection."""
    listing = ask(ws, request_id, cli.ListDataflows())
    assert isinstance(listing.result, to_cli.DataflowList), listing
    return listing.result.dataflows


def rss_mb(pid: int) -> float:
    """Resident memory now, in MB."""
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory the process ever had, in MB."""
    return _status_kb(pid, "VmHWM") / 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")
