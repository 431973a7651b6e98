"""What the coordinator sends a daemon (WebSocket ``/api/daemon``, JSON text frames).

Two frame kinds, tagged by ``kind``:

* :class:`CommandFrame` carries a :data:`DaemonCommand` with a request ``id``; the
  daemon answers with a :class:`dora_message.daemon_to_coordinator.ReplyFrame`.
* :class:`EventFrame` carries a :data:`CoordinatorEvent` that needs no answer: the
  registration outcome and heartbeats.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.cli_to_coordinator import LogQuery


class _Event(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the coordinator's events."""


class Registered(_Event, tag="registered"):
    """The daemon is registered under ``daemon_id``."""

    daemon_id: str
    protocol_version: str


class RegisterRejected(_Event, tag="register_rejected"):
    """Registration refused; the coordinator closes the connection next."""

    error: str


class Heartbeat(_Event, tag="heartbeat"):
    """Sent every 3 s so the daemon knows the coordinator is alive."""


CoordinatorEvent = Registered | RegisterRejected | Heartbeat


class _Command(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the commands."""


class SpawnDataflow(_Command, tag="spawn"):
    """Run the nodes ``nodes`` of the dataflow (the descriptor holds every node)."""

    dataflow_id: str
    descriptor: dict[str, Any]
    nodes: list[str]
    name: str | None = None
    working_dir: str | None = None
    uv: bool = False


class StopDataflow(_Command, tag="stop"):
    """Stop the dataflow's nodes on this daemon: Stop, grace, SIGTERM, SIGKILL."""

    dataflow_id: str
    grace_duration: float | None = None
    force: bool = False


class ReadLogs(_Command, tag="read_logs"):
    """Read the dataflow's log files (``working_dir``/out/<uuid>/) on this daemon."""

    dataflow_id: str
    working_dir: str | None = None
    query: LogQuery = msgspec.field(default_factory=LogQuery)


class Destroy(_Command, tag="destroy"):
    """Stop everything and exit."""


DaemonCommand = SpawnDataflow | StopDataflow | ReadLogs | Destroy


class CommandFrame(msgspec.Struct, tag_field="kind", tag="request", kw_only=True):
    """A command the daemon must answer."""

    id: int
    command: DaemonCommand


class EventFrame(msgspec.Struct, tag_field="kind", tag="event", kw_only=True):
    """An event that needs no answer."""

    event: CoordinatorEvent


CoordinatorToDaemon = CommandFrame | EventFrame

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CoordinatorToDaemon)


def encode_frame(frame: CoordinatorToDaemon) -> str:
    """One frame as JSON text."""
    return _encoder.encode(frame).decode()


def decode_frame(frame: str | bytes) -> CoordinatorToDaemon:
    """Parse a coordinator frame; raises ``msgspec.DecodeError`` / ``ValidationError``."""
    return _decoder.decode(frame)
