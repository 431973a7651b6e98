"""Requests from the CLI to the coordinator (WebSocket ``/api/control``, JSON text frames).

Every frame the CLI sends is a :class:`Request` envelope: a request id chosen by the
client and one :data:`ControlRequest`, tagged by ``type``. The coordinator answers each
request with a :class:`dora_message.coordinator_to_cli.Reply` carrying the same id, and may
push events in between (see that module). The first request on a connection must be
:class:`Hello`; its ``protocol_version`` must equal :data:`CONTROL_PROTOCOL_VERSION`.

Evolution rules (msgspec): new fields get defaults, fields are never renamed or retyped,
unknown fields are ignored by older decoders.

Where a request names a dataflow (``dataflow``), the string is a UUID or the name of a
running dataflow; the coordinator resolves it.

Every Struct here is frozen: a change is a new value (``msgspec.structs.replace``).
"""

from __future__ import annotations

import msgspec

from dora_message.descriptor import Descriptor
from dora_message.safe_decode import SafeDecoder

CONTROL_PROTOCOL_VERSION = "dora-py-control-1"


class _Request(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the CLI's requests."""


class Hello(_Request, tag="hello"):
    """First request of every connection: the version handshake."""

    protocol_version: str
    client_version: str = ""


class StartDataflow(_Request, tag="start"):
    """Start a dataflow; ``descriptor`` is the descriptor the CLI loaded and validated
    (decoded into its type here, so a malformed one fails the request's decoding)."""

    descriptor: Descriptor
    name: str | None = None
    working_dir: str | None = None
    uv: bool = False


class WaitForSpawn(_Request, tag="wait_for_spawn"):
    """Answered once every daemon has spawned its nodes (or the start failed)."""

    dataflow: str


class StopDataflow(_Request, tag="stop"):
    """Stop a dataflow; answered when it has ended. ``grace_duration`` in seconds."""

    dataflow: str
    grace_duration: float | None = None
    force: bool = False


class RestartDataflow(_Request, tag="restart"):
    """Stop a dataflow and start a new one from the stored descriptor."""

    dataflow: str
    grace_duration: float | None = None
    force: bool = False


class RestartNode(_Request, tag="restart_node"):
    """Stop one node of a running dataflow (Stop, then SIGTERM/SIGKILL after ``grace_duration``)
    and start it again; answered once the restart began."""

    dataflow: str
    node: str
    grace_duration: float | None = None


class StopNode(_Request, tag="stop_node"):
    """Stop one node of a running dataflow for good, whatever its restart policy;
    answered once the node has exited."""

    dataflow: str
    node: str
    grace_duration: float | None = None


class ReloadOperator(_Request, tag="reload"):
    """Hot reload: the Python operator ``operator`` of ``node`` re-imports its file.

    Answered once the node's daemon pushed the reload into the node's event stream (the
    outcome of the import shows in the node's log).
    """

    dataflow: str
    node: str
    operator: str


class ListDataflows(_Request, tag="list"):
    """Every dataflow the coordinator knows, running or finished."""


class GetDataflow(_Request, tag="info"):
    """One dataflow with its nodes and descriptor."""

    dataflow: str


class LogQuery(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which log records to return, applied in the order Time -> Grep/Level -> Tail.

    ``since``/``until`` are RFC 3339 timestamps; ``level`` is the minimum level
    (``stdout`` = everything) with ``level_overrides`` per node; ``grep`` is a
    case-insensitive substring of the message, node id or target; ``tail`` keeps the
    last N records that passed.
    """

    nodes: list[str] | None = None
    since: str | None = None
    until: str | None = None
    level: str = "stdout"
    level_overrides: dict[str, str] = {}
    grep: str | None = None
    tail: int | None = None


class GetLogs(_Request, tag="logs"):
    """Historical logs of a dataflow, read from the log files on its daemons."""

    dataflow: str
    query: LogQuery = msgspec.field(default_factory=LogQuery)


class SubscribeLogs(_Request, tag="subscribe_logs"):
    """Push the dataflow's log records to this connection as they arrive.

    With ``replay`` the records the coordinator still buffers are sent first. The
    subscription ends with a ``dataflow_finished`` event or when the connection closes.
    """

    dataflow: str
    nodes: list[str] | None = None
    replay: bool = False


class ListDaemons(_Request, tag="daemons"):
    """The connected daemons."""


class BuildDataflow(_Request, tag="build"):
    """Run the ``build:`` commands of a dataflow on the daemons its nodes are placed on.

    Answered at once with ``build_triggered`` (or an error, e.g. a machine with no
    daemon); the build's output lines and its end are pushed to this connection as
    ``build_output`` and ``build_finished`` events. ``working_dir`` is the dataflow's
    directory on the CLI's machine.
    """

    descriptor: Descriptor
    working_dir: str | None = None
    uv: bool = False


class GetNodeInfo(_Request, tag="node_info"):
    """Every node of every active dataflow with its latest metrics (``dora top``)."""


class Destroy(_Request, tag="destroy"):
    """Stop every dataflow, then shut down every daemon and the coordinator."""

    grace_duration: float | None = None
    force: bool = False


class GetTraces(_Request, tag="get_traces"):
    """Summaries of the traces the coordinator captured in memory (``dora trace list``)."""


class GetTraceSpans(_Request, tag="get_trace_spans"):
    """Every captured span of one trace; ``trace_id`` is a full id (at most 36 ASCII chars)."""

    trace_id: str


class ListParams(_Request, tag="list_params"):
    """Every runtime parameter of one node (``dora param list``)."""

    dataflow: str
    node: str


class GetParam(_Request, tag="get_param"):
    """One runtime parameter of a node (``dora param get``)."""

    dataflow: str
    node: str
    key: str


class SetParam(_Request, tag="set_param"):
    """Store a runtime parameter and, while the dataflow runs, push it to the node.

    ``value_json`` is the value serialized as JSON text (at most 64 KiB).
    """

    dataflow: str
    node: str
    key: str
    value_json: str


class DeleteParam(_Request, tag="delete_param"):
    """Forget a runtime parameter and, while the dataflow runs, tell the node."""

    dataflow: str
    node: str
    key: str


ParamRequest = ListParams | GetParam | SetParam | DeleteParam


ControlRequest = (
    Hello
    | ListParams
    | GetParam
    | SetParam
    | DeleteParam
    | StartDataflow
    | WaitForSpawn
    | StopDataflow
    | RestartDataflow
    | RestartNode
    | StopNode
    | ReloadOperator
    | ListDataflows
    | GetDataflow
    | GetLogs
    | SubscribeLogs
    | ListDaemons
    | Destroy
    | BuildDataflow
    | GetNodeInfo
    | GetTraces
    | GetTraceSpans
)


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of every frame the CLI sends."""

    id: int
    request: ControlRequest


_encoder = msgspec.json.Encoder()
_decoder: SafeDecoder[Request] = SafeDecoder(msgspec.json.Decoder(Request))


def encode_request(request_id: int, request: ControlRequest) -> str:
    """One request as a JSON text frame."""
    return _encoder.encode(Request(id=request_id, request=request)).decode()


def decode_request(frame: str | bytes) -> Request:
    """Parse a frame from a CLI; raises ``MalformedMessage`` (a ``msgspec.ValidationError``)."""
    return _decoder.decode(frame)
