"""What happens to a dataflow, as the asyncio side reports it to :class:`DataflowCore`.

Every event is a plain frozen value; times are floats of one monotonic clock chosen by
the caller (the event loop's ``loop.time()`` in the daemon, plain numbers in tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dora_message.common import LogMessage
from dora_message.node_protocol import DroppedMessages


@dataclass(frozen=True, slots=True)
class Start:
    """The control socket listens: spawn every static node."""

    now: float


@dataclass(frozen=True, slots=True)
class Spawned:
    """The node's process runs (its incarnation is the latest ``Spawn``)."""

    node_id: str


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    """The node's process could not be started."""

    node_id: str
    error: str
    now: float


@dataclass(frozen=True, slots=True)
class Exited:
    """The node's process ended and its control connection was read to its end."""

    node_id: str
    returncode: int  # negative: killed by that signal
    now: float
    subscribed: bool  # it subscribed at some point (the control server knows)
    stderr_tail: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class StopRequested:
    """Stop the dataflow: STOP to every node, SIGTERM after ``grace``, SIGKILL half a grace
    later; ``force`` SIGKILLs every node group at once. ``grace`` None: the run's grace."""

    now: float
    force: bool = False
    grace: float | None = None


@dataclass(frozen=True, slots=True)
class RestartRequested:
    """``dora node restart``: stop the node with its own ladder, then start it again."""

    node_id: str
    now: float
    grace: float | None = None


@dataclass(frozen=True, slots=True)
class NodeStopRequested:
    """``dora node stop``: stop the node for good, whatever its restart policy."""

    node_id: str
    now: float
    grace: float | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: deadlines up to ``now`` (backoffs, ladders, finish graces) fall due."""

    now: float


@dataclass(frozen=True, slots=True)
class HealthSweep:
    """The periodic health check: when each live node was last heard from."""

    now: float
    last_activity: Mapping[str, float]  # only nodes the control server watches now


@dataclass(frozen=True, slots=True)
class BarrierDecided:
    """The start barrier released (``error`` None) or failed, everywhere."""

    error: str | None
    now: float


@dataclass(frozen=True, slots=True)
class OutputsClosed:
    """A node said it sends nothing more on ``outputs``."""

    node_id: str
    outputs: Sequence[str]


@dataclass(frozen=True, slots=True)
class RemoteOutputsClosed:
    """A producer on another machine closed ``outputs`` (through the bridge)."""

    producer: str
    outputs: Sequence[str]


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The node's control connection closed (matters for dynamic nodes)."""

    node_id: str


@dataclass(frozen=True, slots=True)
class StdoutLine:
    """A raw output line of the node (``send_stdout_as``)."""

    node_id: str
    line: str


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A log record of the node that passed its filter."""

    node_id: str
    record: LogMessage


@dataclass(frozen=True, slots=True)
class InputsBroken:
    """The node's open circuit breakers (``input_timeout``) are now ``input_ids``."""

    node_id: str
    input_ids: Sequence[str]


@dataclass(frozen=True, slots=True)
class InputsPending:
    """``count`` received messages wait in the node's input queues."""

    node_id: str
    count: int


@dataclass(frozen=True, slots=True)
class MessagesDropped:
    """The node could not hand messages to a receiver."""

    node_id: str
    report: DroppedMessages


@dataclass(frozen=True, slots=True)
class InputsUnread:
    """The node leaves to be restarted with these messages unread, per input."""

    node_id: str
    counts: Mapping[str, int] = field(default_factory=dict)


Event = (
    Start
    | Spawned
    | SpawnFailed
    | Exited
    | StopRequested
    | RestartRequested
    | NodeStopRequested
    | Tick
    | HealthSweep
    | BarrierDecided
    | OutputsClosed
    | RemoteOutputsClosed
    | Disconnected
    | StdoutLine
    | LogRecord
    | InputsBroken
    | InputsPending
    | MessagesDropped
    | InputsUnread
)
