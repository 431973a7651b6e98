"""What :class:`DataflowCore` asks the asyncio side to do, in order.

The asyncio side owns the processes, the control server (sockets), the bridge and the
timer tasks; it carries out each action and reports back with events.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from dora_message.common import LogMessage, NodeResult
from dora_message.node_protocol import DaemonToNode


class Spawn(msgspec.Struct, frozen=True):
    """Start the node's process (``restart_count`` > 0: a restart; fresh node config)."""

    node_id: str
    restart_count: int = 0


class Signal(msgspec.Struct, frozen=True):
    """Send ``signum`` to the node's process group, if its process still runs."""

    node_id: str
    signum: int


class ClearGroup(msgspec.Struct, frozen=True):
    """The node's process exited and will be replaced: SIGKILL whatever is left of its
    group and release the process."""

    node_id: str


class Send(msgspec.Struct, frozen=True):
    """A control message to the node (queued until its subscription is answered)."""

    node_id: str
    message: DaemonToNode


class SendDroppable(msgspec.Struct, frozen=True):
    """A message dropped (and counted) when the node has ``limit`` bytes unread."""

    node_id: str
    message: DaemonToNode
    limit: int


class Reconnect(msgspec.Struct, frozen=True):
    """The node gets a new incarnation: forget its connection, accept a fresh one."""

    node_id: str


class CloseChannel(msgspec.Struct, frozen=True):
    """The node ended: stop talking to it and tell the start barrier how (``clean``)."""

    node_id: str
    clean: bool
    error: str


class Report(msgspec.Struct, frozen=True):
    """The node ended for good with ``result``."""

    result: NodeResult


class StartTimers(msgspec.Struct, frozen=True):
    """The start barrier released: timer inputs start ticking."""


class StopTicking(msgspec.Struct, frozen=True):
    """The node ended: its timer inputs stop."""

    node_id: str


class ProducerEnded(msgspec.Struct, frozen=True):
    """The node will send nothing more: remote receivers learn it once the bridge read
    everything it sent."""

    node_id: str


class ForwardClosed(msgspec.Struct, frozen=True):
    """The node closed ``outputs``: remote receivers and ``dora topic`` learn it."""

    node_id: str
    outputs: Sequence[str]


class Display(msgspec.Struct, frozen=True):
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
