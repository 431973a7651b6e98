"""What happens to a dataflow, as the asyncio side reports it to :class:`DataflowCore`.

Every event is a plain frozen value; times are floats of one monotonic clock chosen by
the caller (the event loop's ``loop.time()`` in the daemon, plain numbers in tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from dora_message.common import LogMessage
from dora_message.node_protocol import DroppedMessages


class Start(msgspec.Struct, frozen=True):
    """The control socket listens: spawn every static node."""

    now: float


class Spawned(msgspec.Struct, frozen=True):
    """The node's process runs (its incarnation is the latest ``Spawn``)."""

    node_id: str


class SpawnFailed(msgspec.Struct, frozen=True):
    """The node's process could not be started."""

    node_id: str
    error: str
    now: float


class Exited(msgspec.Struct, frozen=True):
    """The node's process ended and its control connection was read to its end."""

    node_id: str
    returncode: int  # negative: killed by that signal
    now: float
    subscribed: bool  # it subscribed at some point (the control server knows)
    stderr_tail: Sequence[str] = ()


class StopRequested(msgspec.Struct, frozen=True):
    """Stop the dataflow: STOP to every node, SIGTERM after ``grace``, SIGKILL half a grace
    later; ``force`` SIGKILLs every node group at once. ``grace`` None: the run's grace."""

    now: float
    force: bool = False
    grace: float | None = None


class RestartRequested(msgspec.Struct, frozen=True):
    """``dora node restart``: stop the node with its own ladder, then start it again."""

    node_id: str
    now: float
    grace: float | None = None


class NodeStopRequested(msgspec.Struct, frozen=True):
    """``dora node stop``: stop the node for good, whatever its restart policy."""

    node_id: str
    now: float
    grace: float | None = None


class Tick(msgspec.Struct, frozen=True):
    """Time passed: deadlines up to ``now`` (backoffs, ladders, finish graces) fall due."""

    now: float


class HealthSweep(msgspec.Struct, frozen=True):
    """The periodic health check: when each live node was last heard from."""

    now: float
    last_activity: Mapping[str, float]  # only nodes the control server watches now


class BarrierDecided(msgspec.Struct, frozen=True):
    """The start barrier released (``error`` None) or failed, everywhere."""

    error: str | None
    now: float


class OutputsClosed(msgspec.Struct, frozen=True):
    """A node said it sends nothing more on ``outputs``."""

    node_id: str
    outputs: Sequence[str]


class RemoteOutputsClosed(msgspec.Struct, frozen=True):
    """A producer on another machine closed ``outputs`` (through the bridge)."""

    producer: str
    outputs: Sequence[str]


class Disconnected(msgspec.Struct, frozen=True):
    """The node's control connection closed (matters for dynamic nodes)."""

    node_id: str


class StdoutLine(msgspec.Struct, frozen=True):
    """A raw output line of the node (``send_stdout_as``)."""

    node_id: str
    line: str


class LogRecord(msgspec.Struct, frozen=True):
    """A log record of the node that passed its filter."""

    node_id: str
    record: LogMessage


class InputsBroken(msgspec.Struct, frozen=True):
    """The node's open circuit breakers (``input_timeout``) are now ``input_ids``."""

    node_id: str
    input_ids: Sequence[str]


class InputsPending(msgspec.Struct, frozen=True):
    """``count`` received messages wait in the node's input queues."""

    node_id: str
    count: int


class MessagesDropped(msgspec.Struct, frozen=True):
    """The node could not hand messages to a receiver."""

    node_id: str
    report: DroppedMessages


class InputsUnread(msgspec.Struct, frozen=True):
    """The node leaves to be restarted with these messages unread, per input."""

    node_id: str
    counts: Mapping[str, int] = {}


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
