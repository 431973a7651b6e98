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

Every Struct here is frozen: a change is a new value (``msgspec.structs.replace``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.common import DataflowResult, LogMessage, NodeResult
from dora_message.safe_decode import SafeDecoder

ACTIVE_STATUSES = ("Pending", "Running", "Stopping", "Recovering")
TERMINAL_STATUSES = ("Succeeded", "Failed")


class DataflowSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
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


class NodeSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
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
    pending_messages: int | None = None  # messages waiting in its input queues
    # messages it missed per input (while restarting or not running), cumulative
    dropped_messages: dict[str, int] = {}


class DaemonSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A connected daemon."""

    daemon_id: str
    machine_id: str | None = None
    labels: dict[str, str] = {}
    last_heartbeat_ago_ms: int = 0
    dataflows: int = 0
    zenoh_endpoints: list[str] = []  # where `dora topic` dials the daemon's zenoh session


class DaemonRef(msgspec.Struct, frozen=True, kw_only=True):
    """Which daemon runs a node (``dora top --once``)."""

    machine_id: str | None = None
    uuid: str


class NodeInfoMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """The latest sample of a node; ``None`` fields were not measured."""

    pid: int | None = None
    cpu_usage: float = 0.0  # percent of one core
    memory_mb: float = 0.0
    disk_read_mb_s: float | None = None
    disk_write_mb_s: float | None = None
    restart_count: int = 0
    broken_inputs: list[str] = []
    status: str = "running"  # running | restarting | degraded | failed | stopped
    pending_messages: int | None = None
    dropped_messages: dict[str, int] = {}  # per input, cumulative (see NodeSummary)


class NodeNetwork(msgspec.Struct, frozen=True, kw_only=True):
    """Cumulative cross-daemon (zenoh) traffic of a dataflow, summed over its daemons."""

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    publish_failures: int = 0


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One node of an active dataflow; ``network`` is its dataflow's, not its own."""

    dataflow_id: str
    dataflow_name: str | None = None
    node_id: str
    daemon_id: DaemonRef
    metrics: NodeInfoMetrics | None = None
    network: NodeNetwork | None = None


class _Reply(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
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


class OperatorReloading(_Reply, tag="operator_reloading"):
    """``reload``: the operator's node was told to re-import its file."""

    uuid: str
    node: str
    operator: str


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


class NodeInfoList(_Reply, tag="node_info_list"):
    """Reply to ``GetNodeInfo``."""

    nodes: list[NodeInfo] = []


class BuildTriggered(_Reply, tag="build_triggered"):
    """The build was sent to the daemons (``placement``: daemon id -> node ids)."""

    build_id: str
    placement: dict[str, list[str]] = {}


class SpanRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One finished span captured by the coordinator (see ``dora_coordinator.tracing``).

    ``start_time`` in Unix milliseconds, ``duration_us`` in microseconds; ``fields`` are
    ordered ``[key, value]`` string pairs.
    """

    trace_id: str
    span_id: int
    name: str
    parent_span_id: int | None = None
    target: str = ""
    level: str = "INFO"
    start_time: int = 0
    duration_us: int = 0
    fields: list[tuple[str, str]] = []


class TraceSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One row of ``dora trace list``: the root span's name and duration, the earliest start."""

    trace_id: str
    root_span_name: str
    span_count: int
    start_time: int = 0
    duration_us: int = 0


class TraceList(_Reply, tag="trace_list"):
    """Answer to ``get_traces``, newest first."""

    traces: list[TraceSummary] = []


class TraceSpans(_Reply, tag="trace_spans"):
    """Answer to ``get_trace_spans``: the trace's spans in capture order (empty: unknown)."""

    trace_id: str
    spans: list[SpanRecord] = []


class ParamList(_Reply, tag="param_list"):
    """Answer to ``list_params``: key -> JSON-decoded value."""

    params: dict[str, Any] = {}


class ParamValue(_Reply, tag="param_value"):
    """Answer to ``get_param``."""

    key: str
    value: Any = None


class ParamStored(_Reply, tag="param_set"):
    """Answer to ``set_param``: stored (and delivered to the node, if it runs)."""


class ParamRemoved(_Reply, tag="param_deleted"):
    """Answer to ``delete_param``: forgotten (and the node told, if it runs)."""


ControlReply = (
    HelloOk
    | ParamList
    | ParamValue
    | ParamStored
    | ParamRemoved
    | DataflowStarted
    | DataflowSpawned
    | DataflowStopped
    | DataflowRestarted
    | NodeRestarting
    | NodeStopped
    | OperatorReloading
    | DataflowList
    | DataflowDetails
    | LogRecords
    | Subscribed
    | DaemonList
    | Destroyed
    | BuildTriggered
    | NodeInfoList
    | TraceList
    | TraceSpans
)


class _Push(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
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


class Reply(
    msgspec.Struct, frozen=True, tag_field="kind", tag="reply", kw_only=True, omit_defaults=True
):
    """The answer to request ``id``."""

    id: int
    result: ControlReply | None = None
    error: str | None = None


class Event(msgspec.Struct, frozen=True, tag_field="kind", tag="event", kw_only=True):
    """A pushed event."""

    event: PushEvent


CoordinatorToCli = Reply | Event

_encoder = msgspec.json.Encoder()
_decoder: SafeDecoder[CoordinatorToCli] = SafeDecoder(msgspec.json.Decoder(CoordinatorToCli))


def encode_frame(frame: CoordinatorToCli) -> str:
    """One frame as JSON text."""
    return _encoder.encode(frame).decode()


def decode_frame(frame: str | bytes) -> CoordinatorToCli:
    """Parse a frame from the coordinator; raises ``MalformedMessage`` (a
    ``msgspec.ValidationError``)."""
    return _decoder.decode(frame)
