"""What :class:`DataflowCore` asks the asyncio side to do, in order.

The asyncio side owns the processes, the control server (sockets), the bridge and the
timer tasks; it carries out each action and reports back with events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dora_message.common import LogMessage, NodeResult
from dora_message.node_protocol import DaemonToNode


@dataclass(frozen=True, slots=True)
class Spawn:
    """Start the node's process (``restart_count`` > 0: a restart; fresh node config)."""

    node_id: str
    restart_count: int = 0


@dataclass(frozen=True, slots=True)
class Signal:
    """Send ``signum`` to the node's process group, if its process still runs."""

    node_id: str
    signum: int


@dataclass(frozen=True, slots=True)
class ClearGroup:
    """The node's process exited and will be replaced: SIGKILL whatever is left of its
    group and release the process."""

    node_id: str


@dataclass(frozen=True, slots=True)
class Send:
    """A control message to the node (queued until its subscription is answered)."""

    node_id: str
    message: DaemonToNode


@dataclass(frozen=True, slots=True)
class SendDroppable:
    """A message dropped (and counted) when the node has ``limit`` bytes unread."""

    node_id: str
    message: DaemonToNode
    limit: int


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The node gets a new incarnation: forget its connection, accept a fresh one."""

    node_id: str


@dataclass(frozen=True, slots=True)
class CloseChannel:
    """The node ended: stop talking to it and tell the start barrier how (``clean``)."""

    node_id: str
    clean: bool
    error: str


@dataclass(frozen=True, slots=True)
class Report:
    """The node ended for good with ``result``."""

    result: NodeResult


@dataclass(frozen=True, slots=True)
class StartTimers:
    """The start barrier released: timer inputs start ticking."""


@dataclass(frozen=True, slots=True)
class StopTicking:
    """The node ended: its timer inputs stop."""

    node_id: str


@dataclass(frozen=True, slots=True)
class ProducerEnded:
    """The node will send nothing more: remote receivers learn it once the bridge read
    everything it sent."""

    node_id: str


@dataclass(frozen=True, slots=True)
class ForwardClosed:
    """The node closed ``outputs``: remote receivers and ``dora topic`` learn it."""

    node_id: str
    outputs: Sequence[str]


@dataclass(frozen=True, slots=True)
class Display:
    """A log record for whoever shows the dataflow's logs (``dora run``, the coordinator)."""

    record: LogMessage


Action = (
    Spawn
    | Signal
    | ClearGroup
    | Send
    | SendDroppable
    | Reconnect
    | CloseChannel
    | Report
    | StartTimers
    | StopTicking
    | ProducerEnded
    | ForwardClosed
    | Display
)
