"""What a daemon sends its coordinator (WebSocket ``/api/daemon``, JSON text frames).

Two frame kinds, tagged by ``kind``:

* :class:`EventFrame` carries one :data:`DaemonEvent` (tagged by ``type``). The first
  event of a connection must be :class:`Register`, whose ``protocol_version`` must equal
  :data:`DAEMON_PROTOCOL_VERSION`; right after the coordinator accepts it the daemon sends
  a :class:`StatusReport` of what it runs, so a restarted coordinator can reconcile.
* :class:`ReplyFrame` answers a coordinator command with the same ``id``.

Evolution rules (msgspec): new fields get defaults, nothing is renamed or retyped.
Every Struct here is frozen: a change is a new value (``msgspec.structs.replace``).
"""

from __future__ import annotations

import msgspec

from dora_message.common import DataflowResult, LogMessage, NodeResult
from dora_message.descriptor import Descriptor
from dora_message.safe_decode import SafeDecoder

DAEMON_PROTOCOL_VERSION = "dora-py-daemon-1"


class RunningDataflow(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A dataflow a daemon runs, with enough to rebuild the coordinator's record."""

    dataflow_id: str
    nodes: list[str]
    name: str | None = None
    descriptor: Descriptor | None = None
    working_dir: str | None = None
    uv: bool = False


class NodeMetric(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One sample of a node process; ``cpu`` in percent of one core."""

    pid: int
    cpu: float = 0.0
    memory_mb: float = 0.0
    # supervision: Running | Degraded | Restarting | Failed | Stopped (None: unknown)
    status: str | None = None
    restarts: int = 0
    broken_inputs: list[str] = []
    # storage I/O of the process over the last sample interval (None: first sample or
    # not measurable on this platform)
    disk_read_mb_s: float | None = None
    disk_write_mb_s: float | None = None
    # inputs waiting in the node's queue (None: not reported)
    pending_messages: int | None = None
    # messages the node missed, per input: sent while it restarted or was not running,
    # or received but unread when it left to be restarted (cumulative)
    dropped_messages: dict[str, int] = {}


class NetworkMetric(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Cumulative cross-daemon (zenoh) traffic of one dataflow on one daemon."""

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    publish_failures: int = 0


class _Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the daemon's events."""


class Register(_Event, tag="register"):
    """First event of a connection. ``instance_id`` is fixed for the daemon's lifetime."""

    protocol_version: str
    instance_id: str
    dora_version: str = ""
    machine_id: str | None = None
    labels: dict[str, str] = {}
    # where this daemon's zenoh session listens (``tcp/IP:PORT``), for other daemons
    zenoh_endpoints: list[str] = []
    # the session is not open yet: its endpoints follow in a ZenohListening event (the
    # port is picked when it opens); other daemons' registrations wait for it
    zenoh_pending: bool = False


class DataflowFinished(_Event, tag="dataflow_finished"):
    """Every node this daemon ran for the dataflow has exited.

    ``error`` is set when the daemon could not run the dataflow at all.
    """

    dataflow_id: str
    result: DataflowResult
    error: str | None = None


class StatusReport(_Event, tag="status_report"):
    """What the daemon runs now, and results it may not have delivered yet."""

    running: list[RunningDataflow] = []
    finished: list[DataflowFinished] = []


class Heartbeat(_Event, tag="heartbeat"):
    """Sent every few seconds so the coordinator knows the daemon is alive."""


class LogBatch(_Event, tag="logs"):
    """Node log records, oldest first (batched to keep frame counts low)."""

    records: list[LogMessage]


class NodeMetrics(_Event, tag="node_metrics"):
    """Per-node process metrics of one dataflow, keyed by node id."""

    dataflow_id: str
    metrics: dict[str, NodeMetric] = {}
    # cross-daemon traffic of the dataflow on this daemon (None: it spans no machines)
    network: NetworkMetric | None = None


class NodesReady(_Event, tag="nodes_ready"):
    """Every static node this daemon runs for the dataflow subscribed (or exited).

    Sent only for dataflows spanning several daemons; ``error`` is set when a node
    failed before subscribing. The coordinator answers every daemon of the dataflow
    with ``BarrierReleased`` once all of them are ready (or one failed).
    """

    dataflow_id: str
    error: str | None = None


class ZenohListening(_Event, tag="zenoh_listening"):
    """The daemon's zenoh session is open (it registered with ``zenoh_pending``).

    ``endpoints`` is where it listens, the port bound; empty when the session could not
    be opened (dataflows spanning daemons then cannot run there).
    """

    endpoints: list[str] = []


class BuildOutput(_Event, tag="build_output"):
    """One output line of a build command run for coordinator build ``build_id``."""

    build_id: str
    node_id: str
    line: str


DaemonEvent = (
    Register
    | StatusReport
    | Heartbeat
    | DataflowFinished
    | LogBatch
    | NodeMetrics
    | NodesReady
    | BuildOutput
    | ZenohListening
)


class _Result(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of the reply payloads."""


class Done(_Result, tag="done"):
    """The command was carried out (or, for a spawn, the nodes are being started)."""


class NodeLogs(_Result, tag="node_logs"):
    """Log records read from the daemon's log files."""

    records: list[LogMessage] = []


class NodeEnded(_Result, tag="node_ended"):
    """``stop_node``: the node exited; how it ended."""

    result: NodeResult | None = None


CommandResult = Done | NodeLogs | NodeEnded


class EventFrame(msgspec.Struct, frozen=True, tag_field="kind", tag="event", kw_only=True):
    """A daemon event."""

    event: DaemonEvent


class ReplyFrame(
    msgspec.Struct, frozen=True, tag_field="kind", tag="reply", kw_only=True, omit_defaults=True
):
    """The answer to coordinator command ``id``: ``result`` or ``error``."""

    id: int
    result: CommandResult | None = None
    error: str | None = None


DaemonToCoordinator = EventFrame | ReplyFrame

_encoder = msgspec.json.Encoder()
_decoder: SafeDecoder[DaemonToCoordinator] = SafeDecoder(msgspec.json.Decoder(DaemonToCoordinator))


def encode_frame(frame: DaemonToCoordinator) -> str:
    """One frame as JSON text."""
    return _encoder.encode(frame).decode()


def decode_frame(frame: str | bytes) -> DaemonToCoordinator:
    """Parse a daemon frame; raises ``MalformedMessage`` (a ``msgspec.ValidationError``)."""
    return _decoder.decode(frame)
