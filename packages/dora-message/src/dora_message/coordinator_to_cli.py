"""What the coordinator sends the CLI (WebSocket ``/api/control``, JSON text frames).

Two frame kinds, tagged by ``kind``:

* :class:`Reply` answers the request with the same ``id``: either ``result`` (one
  :data:`ControlReply`, tagged by ``type``) or ``error`` (a message for people). A frame
  that cannot be parsed at all is answered with ``id`` 0 and an error.
* :class:`Event` is pushed without a request: log records of a subscribed dataflow and
  the end of that dataflow.

Dataflow statuses: ``Pending``, ``Running``, ``Stopping``, ``Recovering`` (the
coordinator restarted or a daemon went away; waiting for the daemon to report back),
``Succeeded``, ``Failed``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.common import DataflowResult, LogMessage, NodeResult

ACTIVE_STATUSES = ("Pending", "Running", "Stopping", "Recovering")
TERMINAL_STATUSES = ("Succeeded", "Failed")


class DataflowSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One row of ``dora list``; ``cpu`` in percent of one core, summed over nodes."""

    uuid: str
    status: str
    name: str | None = None
    nodes: int = 0
    cpu: float = 0.0
    memory_mb: float = 0.0
    created_at: float = 0.0
    error: str | None = None
    daemons: list[str] = []


class NodeSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One node of a dataflow: where it runs, its last metrics, how it ended."""

    node_id: str
    daemon_id: str | None = None
    status: str = "pending"
    pid: int | None = None
    cpu: float | None = None
    memory_mb: float | None = None
    result: NodeResult | None = None
    restarts: int = 0  # how many times the daemon restarted the node
    broken_inputs: list[str] = []  # inputs whose input_timeout circuit breaker is open


class DaemonSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A connected daemon."""

    daemon_id: str
    machine_id: str | None = None
    labels: dict[str, str] = {}
    last_heartbeat_ago_ms: int = 0
    dataflows: int = 0


class _Reply(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the reply payloads."""


class HelloOk(_Reply, tag="hello_ok"):
    """The handshake succeeded."""

    protocol_version: str
    coordinator_version: str = ""


class DataflowStarted(_Reply, tag="started"):
    """The start was accepted; the nodes are being spawned."""

    uuid: str


class DataflowSpawned(_Reply, tag="spawned"):
    """Every daemon spawned its nodes (``status`` Running), or the dataflow already ended."""

    uuid: str
    status: str
    error: str | None = None


class DataflowStopped(_Reply, tag="stopped"):
    """The dataflow has ended."""

    uuid: str
    status: str
    result: DataflowResult | None = None
    error: str | None = None


class DataflowRestarted(_Reply, tag="restarted"):
    """The old dataflow ended and a new one was started from its descriptor."""

    old_uuid: str
    new_uuid: str


class NodeRestarting(_Reply, tag="node_restarting"):
    """``restart_node``: the node is being stopped and will be started again."""

    uuid: str
    node: str


class NodeStopped(_Reply, tag="node_stopped"):
    """``stop_node``: the node has exited and will not be restarted."""

    uuid: str
    node: str
    result: NodeResult | None = None


class DataflowList(_Reply, tag="dataflow_list"):
    """Answer to ``list``."""

    dataflows: list[DataflowSummary] = []


class DataflowDetails(_Reply, tag="dataflow_info"):
    """Answer to ``info``."""

    summary: DataflowSummary
    nodes: list[NodeSummary] = []
    descriptor: dict[str, Any] = {}
    working_dir: str | None = None


class LogRecords(_Reply, tag="log_records"):
    """Answer to ``logs``; ``missing`` names daemons whose files could not be read."""

    records: list[LogMessage] = []
    missing: list[str] = []


class Subscribed(_Reply, tag="subscribed"):
    """The log subscription is active."""

    uuid: str


class DaemonList(_Reply, tag="daemon_list"):
    """Answer to ``daemons``."""

    daemons: list[DaemonSummary] = []


class Destroyed(_Reply, tag="destroyed"):
    """Every dataflow stopped and every daemon told to exit; the coordinator exits next."""


class BuildTriggered(_Reply, tag="build_triggered"):
    """The build was sent to the daemons (``placement``: daemon id -> node ids)."""

    build_id: str
    placement: dict[str, list[str]] = {}


ControlReply = (
    HelloOk
    | DataflowStarted
    | DataflowSpawned
    | DataflowStopped
    | DataflowRestarted
    | NodeRestarting
    | NodeStopped
    | DataflowList
    | DataflowDetails
    | LogRecords
    | Subscribed
    | DaemonList
    | Destroyed
    | BuildTriggered
)


class _Push(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the pushed events."""


class LogEvent(_Push, tag="log"):
    """Log records of a subscribed dataflow, oldest first."""

    records: list[LogMessage]


class DataflowFinishedEvent(_Push, tag="dataflow_finished"):
    """A subscribed dataflow has ended."""

    uuid: str
    status: str
    result: DataflowResult | None = None
    error: str | None = None


class BuildOutputEvent(_Push, tag="build_output"):
    """One output line of a build command, pushed to the connection that asked for the build."""

    build_id: str
    node_id: str
    line: str
    daemon_id: str | None = None


class BuildFinishedEvent(_Push, tag="build_finished"):
    """The build ended on every daemon; ``error`` is the first failure (None: success)."""

    build_id: str
    error: str | None = None


PushEvent = LogEvent | DataflowFinishedEvent | BuildOutputEvent | BuildFinishedEvent


class Reply(msgspec.Struct, tag_field="kind", tag="reply", kw_only=True, omit_defaults=True):
    """The answer to request ``id``."""

    id: int
    result: ControlReply | None = None
    error: str | None = None


class Event(msgspec.Struct, tag_field="kind", tag="event", kw_only=True):
    """A pushed event."""

    event: PushEvent


CoordinatorToCli = Reply | Event

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CoordinatorToCli)


def encode_frame(frame: CoordinatorToCli) -> str:
    """One frame as JSON text."""
    return _encoder.encode(frame).decode()


def decode_frame(frame: str | bytes) -> CoordinatorToCli:
    """Parse a frame from the coordinator; raises ``msgspec.DecodeError``/``ValidationError``."""
    return _decoder.decode(frame)
