"""What the coordinator sends a daemon (WebSocket ``/api/daemon``, JSON text frames).

Two frame kinds, tagged by ``kind``:

* :class:`CommandFrame` carries a :data:`DaemonCommand` with a request ``id``; the
  daemon answers with a :class:`dora_message.daemon_to_coordinator.ReplyFrame`.
* :class:`EventFrame` carries a :data:`CoordinatorEvent` that needs no answer: the
  registration outcome and heartbeats.

Every Struct here is frozen: a change is a new value (``msgspec.structs.replace``).
"""

from __future__ import annotations

import msgspec

from dora_message.cli_to_coordinator import LogQuery
from dora_message.descriptor import Descriptor
from dora_message.safe_decode import SafeDecoder


class _Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the coordinator's events."""


class Registered(_Event, tag="registered"):
    """The daemon is registered under ``daemon_id``."""

    daemon_id: str
    protocol_version: str
    # zenoh endpoints of the other daemons connected now: this daemon dials them (the
    # daemons that register later dial this one), see docs/distributed.md
    peer_endpoints: list[str] = []


class RegisterRejected(_Event, tag="register_rejected"):
    """Registration refused; the coordinator closes the connection next."""

    error: str


class Heartbeat(_Event, tag="heartbeat"):
    """Sent every 3 s so the daemon knows the coordinator is alive."""


class BarrierReleased(_Event, tag="barrier_released"):
    """Every daemon of a dataflow spanning several daemons reported its nodes ready.

    Parked ``Subscribe`` requests are answered now; with ``error`` set (some node failed
    before subscribing, on any daemon) they are answered with that error instead.
    """

    dataflow_id: str
    error: str | None = None


CoordinatorEvent = Registered | RegisterRejected | Heartbeat | BarrierReleased


class _Command(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the commands."""


class SpawnDataflow(_Command, tag="spawn"):
    """Run the nodes ``nodes`` of the dataflow (the descriptor holds every node).

    ``placement`` (daemon id -> node ids) covers every node of the dataflow; when it
    names other daemons too, data crossing daemons goes over zenoh, ``peer_endpoints``
    (daemon id -> zenoh endpoints) says where those daemons listen, and the start
    barrier is released by :class:`BarrierReleased`. Empty: every node runs here.
    """

    dataflow_id: str
    descriptor: Descriptor
    nodes: list[str]
    name: str | None = None
    working_dir: str | None = None
    uv: bool = False
    placement: dict[str, list[str]] = {}
    peer_endpoints: dict[str, list[str]] = {}


class StopDataflow(_Command, tag="stop"):
    """Stop the dataflow's nodes on this daemon: Stop, grace, SIGTERM, SIGKILL."""

    dataflow_id: str
    grace_duration: float | None = None
    force: bool = False


class RestartNode(_Command, tag="restart_node"):
    """Stop one node (Stop, grace, SIGTERM, SIGKILL) and start it again at once."""

    dataflow_id: str
    node_id: str
    grace_duration: float | None = None


class StopNode(_Command, tag="stop_node"):
    """Stop one node for good; answered with ``node_ended`` once it has exited."""

    dataflow_id: str
    node_id: str
    grace_duration: float | None = None


class ReloadOperator(_Command, tag="reload"):
    """Push a hot-reload request for Python operator ``operator_id`` to node ``node_id``."""

    dataflow_id: str
    node_id: str
    operator_id: str


class ReadLogs(_Command, tag="read_logs"):
    """Read the dataflow's log files (``working_dir``/out/<uuid>/) on this daemon."""

    dataflow_id: str
    working_dir: str | None = None
    query: LogQuery = msgspec.field(default_factory=LogQuery)


class BuildDataflow(_Command, tag="build"):
    """Run the ``build:`` commands of ``nodes`` (the descriptor holds every node) here.

    Output lines go back as ``build_output`` events; the reply comes when the build
    ended (an error names the failing node). ``machine_id`` is this daemon's, passed to
    the build commands as ``DORA_MACHINE_ID``.
    """

    build_id: str
    descriptor: Descriptor
    nodes: list[str]
    working_dir: str | None = None
    uv: bool = False
    machine_id: str | None = None


class Destroy(_Command, tag="destroy"):
    """Stop everything and exit."""


class SetParam(_Command, tag="set_param"):
    """Push a runtime parameter (``value_json``: JSON text) into the node's event stream."""

    dataflow_id: str
    node_id: str
    key: str
    value_json: str


class DeleteParam(_Command, tag="delete_param"):
    """Tell the node that a runtime parameter was deleted."""

    dataflow_id: str
    node_id: str
    key: str


class ReplayParams(_Command, tag="replay_params"):
    """State catch-up after a reconnect: every stored parameter of this daemon's nodes.

    ``params`` maps node id -> key -> JSON text and is complete for the nodes it names:
    the daemon delivers what changed since it last heard and deletes what is gone.
    """

    dataflow_id: str
    params: dict[str, dict[str, str]] = {}


DaemonCommand = (
    SpawnDataflow
    | StopDataflow
    | ReadLogs
    | Destroy
    | RestartNode
    | StopNode
    | ReloadOperator
    | BuildDataflow
    | SetParam
    | DeleteParam
    | ReplayParams
)


class CommandFrame(msgspec.Struct, frozen=True, tag_field="kind", tag="request", kw_only=True):
    """A command the daemon must answer."""

    id: int
    command: DaemonCommand


class EventFrame(msgspec.Struct, frozen=True, tag_field="kind", tag="event", kw_only=True):
    """An event that needs no answer."""

    event: CoordinatorEvent


CoordinatorToDaemon = CommandFrame | EventFrame

_encoder = msgspec.json.Encoder()
_decoder: SafeDecoder[CoordinatorToDaemon] = SafeDecoder(msgspec.json.Decoder(CoordinatorToDaemon))


def encode_frame(frame: CoordinatorToDaemon) -> str:
    """One frame as JSON text."""
    return _encoder.encode(frame).decode()


def decode_frame(frame: str | bytes) -> CoordinatorToDaemon:
    """Parse a coordinator frame; raises ``MalformedMessage`` (a ``msgspec.ValidationError``)."""
    return _decoder.decode(frame)
