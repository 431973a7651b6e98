"""The node control server: one Unix-socket connection per node (spec/runtime.md §4).

A connection starts with ``Register`` (dataflow, node and protocol version checked),
then ``Subscribe``, which is parked until the start barrier decides. For a dataflow
spanning several daemons the barrier is *gated*: once the local nodes are all there,
the server reports it (``barrier_ready``) and releases only when :meth:`open_gate`
says every daemon is ready; a local failure still answers at once. Afterwards the
daemon pushes ticks, daemon-made inputs, closed inputs and stops; the node may report
closed outputs and out-of-band log records. Writes never wait on a node: control
messages are always buffered, droppable ones (ticks, log inputs) are dropped and counted
when the node does not keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol

import msgspec

from dora_daemon.barrier import StartBarrier
from dora_message.auth import secret_matches
from dora_message.dataplane.framing import FrameBuffer, frame
from dora_message.errors import ProtocolError
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    BrokenInputs,
    CloseOutputs,
    DaemonToNode,
    DroppedMessages,
    Heartbeat,
    NodeLog,
    OutputsDone,
    PendingInputs,
    Register,
    RegisterReply,
    Subscribe,
    SubscribeReply,
    Tick,
    UnreadInputs,
    node_encoder,
    to_daemon_decoder,
)
from dora_message.peer import RefusalLog, allow_root_from_env, refusal, session_of
from dora_message.quote import excerpt

PeerCheck = Callable[[str, int], Awaitable[str | None]]
"""``(node_id, peer pid) -> why that process may not be the node, or None``."""

log = logging.getLogger(__name__)

MAX_EARLY_MESSAGES = 1000  # droppable messages kept for a node that is not live yet
MAX_DELIVER_BACKLOG = 8 * 1024 * 1024  # unread bytes past which `deliver` refuses
_READ_SIZE = 65536


class ControlEvents(Protocol):
    """What the control server reports to the dataflow."""

    def barrier_decided(self) -> None:
        """The start barrier released or failed (see :attr:`ControlServer.barrier`)."""

    def barrier_ready(self, error: str | None) -> None:
        """Gated barriers only: the local cohort is complete (or failed with ``error``)."""

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """The node will not send on ``outputs`` again."""

    def node_log(self, node_id: str, record: NodeLog) -> None:
        """The node sent a structured log record out of band."""

    def disconnected(self, node_id: str) -> None:
        """The node's control connection closed."""

    def inputs_broken(self, node_id: str, input_ids: list[str]) -> None:
        """The node's open circuit breakers (``input_timeout``) are now ``input_ids``."""

    def inputs_pending(self, node_id: str, count: int) -> None:
        """``count`` received messages wait in the node's input queues now."""

    def messages_dropped(self, node_id: str, report: DroppedMessages) -> None:
        """The node could not hand some messages to a receiver (see ``missed``)."""

    def inputs_unread(self, node_id: str, counts: dict[str, int]) -> None:
        """The node exits to be restarted with these messages unread, per input."""


class ChannelState(enum.Enum):
    """Where a node's control connection stands."""

    WAITING = "waiting"  # not connected yet
    REGISTERED = "registered"
    PARKED = "parked"  # subscribed, waiting for the barrier
    LIVE = "live"  # subscribe answered: events flow
    CLOSED = "closed"  # failed, disconnected or exited: nothing is sent any more


class _Channel:
    """The daemon's side of one node's connection."""

    __slots__ = ("done", "dropped", "node_id", "pending", "state", "subscribed", "writer")

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.state = ChannelState.WAITING
        self.writer: asyncio.StreamWriter | None = None
        self.pending: list[DaemonToNode] = []  # sent once the subscription is answered
        self.dropped = 0
        self.done = False  # OutputsDone received
        self.subscribed = False  # sent Subscribe at some point (state moves on to CLOSED)


class ControlServer:
    """Serves the node protocol on ``address`` for the nodes ``node_ids``."""

    def __init__(
        self,
        dataflow_id: str,
        address: str,
        node_ids: Iterable[str],
        barrier: StartBarrier,
        events: ControlEvents,
        gated: bool = False,
        *,
        node_secrets: Mapping[str, str],
        check_process: PeerCheck | None = None,
        allow_root: bool | None = None,
    ) -> None:
        """``node_secrets``: node -> the secret its ``Register`` must carry;
        ``check_process(node, pid)``: whether the connecting process may be that node
        (the one the daemon spawned for it, see :func:`spawned_session_check`);
        ``allow_root``: accept root's connections too (default: DORA_ALLOW_ROOT_PEERS).
        Connections from another user are closed before anything is read."""
        self.dataflow_id = dataflow_id
        self._secrets = dict(node_secrets)
        self._check_process = check_process
        self._allow_root = allow_root_from_env() if allow_root is None else allow_root
        self._refusals = RefusalLog(f"the daemon of dataflow {dataflow_id}")
        self.address = address
        self.barrier = barrier
        self._events = events
        self._gated = gated
        self._gate_open = not gated
        self._answered = False  # subscribers were answered: the verdict is out
        self._channels = {node_id: _Channel(node_id) for node_id in node_ids}
        self._activity: dict[str, float] = {}  # node -> last message (monotonic), health check
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._reading: dict[str, asyncio.Task[None]] = {}  # node -> its connection's reader

    async def start(self) -> None:
        """Listen on the abstract socket."""
        self._server = await asyncio.start_unix_server(self._serve, path=self.address)

    async def close(self) -> None:
        """Stop listening, close every connection and wait for their handlers."""
        if self._server is not None:
            self._server.close()
        for channel in self._channels.values():
            self._close_channel(channel)
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def drained(self, node_id: str, timeout: float) -> None:
        """Wait (at most ``timeout``) until the node's connection was read to its end.

        Called once the node's process has exited: what it sent right before (a log
        record, its missed-message counts) may still wait in the socket, and must be
        handled before its exit is. The bound covers a child process that inherited
        the connection and keeps it open."""
        task = self._reading.get(node_id)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    def connected(self, node_id: str) -> bool:
        """Whether a process is registered as the node right now."""
        channel = self._channels.get(node_id)
        return channel is not None and channel.state not in (
            ChannelState.WAITING,
            ChannelState.CLOSED,
        )

    def peer_pid(self, node_id: str) -> int | None:
        """The pid of the process connected as the node (SO_PEERCRED), if known."""
        channel = self._channels.get(node_id)
        writer = channel.writer if channel is not None else None
        sock = writer.get_extra_info("socket") if writer is not None else None
        if sock is None:
            return None
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        except OSError:
            return None
        pid = struct.unpack("3i", creds)[0]
        return pid or None

    def subscribed(self, node_id: str) -> bool:
        """Whether the node ever subscribed."""
        return self._channels[node_id].subscribed

    def last_activity(self, node_id: str) -> float | None:
        """When the node last sent anything (or went live), while it is live; else None.

        A node that is not connected yet, parked in the barrier, gone, or that said it
        sends nothing more (``OutputsDone``) is not watched by the health check.
        """
        channel = self._channels.get(node_id)
        if channel is None or channel.state is not ChannelState.LIVE or channel.done:
            return None
        return self._activity.get(node_id)

    def restarting(self, node_id: str) -> None:
        """The node's process is replaced: forget its connection, accept a new one."""
        self._close_channel(self._channels[node_id])
        self._channels[node_id] = _Channel(node_id)
        self._activity.pop(node_id, None)

    def dropped(self) -> dict[str, int]:
        """Droppable messages dropped per node because it did not keep up."""
        return {c.node_id: c.dropped for c in self._channels.values() if c.dropped}

    # ---- sending ---------------------------------------------------------------

    def send(self, node_id: str, message: DaemonToNode) -> None:
        """Send a control message; queued until the node's subscription is answered."""
        channel = self._channels.get(node_id)
        if channel is None or channel.state is ChannelState.CLOSED:
            return
        if channel.state is ChannelState.LIVE:
            self._write(channel, message)
        else:
            channel.pending.append(message)

    def send_droppable(self, node_id: str, message: DaemonToNode, limit: int) -> None:
        """Send unless the node has more than ``limit`` bytes unread; then drop and count."""
        channel = self._channels.get(node_id)
        if channel is None or channel.state is ChannelState.CLOSED:
            return
        if channel.state is not ChannelState.LIVE:
            # A tick is only meaningful now (timers run once the barrier released, so only
            # unconnected dynamic nodes miss them); other daemon-made inputs wait, bounded.
            if isinstance(message, Tick):
                return
            if len(channel.pending) >= MAX_EARLY_MESSAGES:
                self._count_drop(channel, message)
            else:
                channel.pending.append(message)
            return
        assert channel.writer is not None
        if channel.writer.transport.get_write_buffer_size() > limit:
            self._count_drop(channel, message)
            return
        self._write(channel, message)

    def deliver(self, node_id: str, message: DaemonToNode) -> str | None:
        """Send a message whose loss must be reported (``dora param``): why it cannot be
        sent, or None once it is written (or queued behind the start barrier)."""
        channel = self._channels.get(node_id)
        if channel is None or channel.state is ChannelState.WAITING:
            return f"node `{node_id}` not connected"
        writer = channel.writer
        if channel.state is ChannelState.CLOSED or writer is None or writer.is_closing():
            return "channel closed"
        if channel.state is not ChannelState.LIVE:
            channel.pending.append(message)
            return None
        if writer.transport.get_write_buffer_size() > MAX_DELIVER_BACKLOG:
            return "channel full"
        self._write(channel, message)
        return None

    def _count_drop(self, channel: _Channel, message: DaemonToNode) -> None:
        if channel.dropped == 0:
            log.warning(
                "node %s does not keep up with daemon events; dropping %s messages",
                channel.node_id,
                type(message).__name__,
            )
        channel.dropped += 1

    def _write(self, channel: _Channel, message: DaemonToNode) -> None:
        writer = channel.writer
        if writer is None or writer.is_closing():
            return
        writer.write(frame(node_encoder.encode(message)))

    # ---- barrier ---------------------------------------------------------------

    @property
    def decided(self) -> bool:
        """Whether subscribers are answered now (released everywhere, or failed)."""
        return self.barrier.error is not None or (self.barrier.released and self._gate_open)

    def check_barrier(self) -> None:
        """Report a cohort that was complete from the start (no static node here)."""
        if self.barrier.decided:
            self._locally_decided()

    def open_gate(self, error: str | None = None) -> None:
        """Every daemon is ready (or ``error``): answer the parked subscribers."""
        self._gate_open = True
        if error is not None and self.barrier.error is None:
            self.barrier.error = error
        if self.decided:
            self._answer_parked()

    def node_exited(self, node_id: str, clean: bool, error: str) -> None:
        """The node's process ended: stop talking to it, and tell the barrier."""
        channel = self._channels[node_id]
        self._close_channel(channel)
        if not channel.subscribed and self.barrier.exited(node_id, clean, error):
            self._locally_decided()

    def _locally_decided(self) -> None:
        if self._gated:
            self._events.barrier_ready(self.barrier.error)
        if self.decided:
            self._answer_parked()

    def _answer_parked(self) -> None:
        if self._answered:
            return
        self._answered = True
        for channel in self._channels.values():
            if channel.state is ChannelState.PARKED:
                self._answer(channel)
        self._events.barrier_decided()

    def _answer(self, channel: _Channel) -> None:
        if self.barrier.error is not None:
            self._write(channel, SubscribeReply(error=self.barrier.error))
            channel.pending.clear()
            channel.state = ChannelState.CLOSED
            return
        self._write(channel, SubscribeReply())
        channel.state = ChannelState.LIVE
        self._activity[channel.node_id] = time.monotonic()
        pending, channel.pending = channel.pending, []
        for message in pending:
            self._write(channel, message)

    # ---- receiving -------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameBuffer()
        channel: _Channel | None = None
        task = asyncio.current_task()
        assert task is not None
        sock = writer.get_extra_info("socket")
        reason = refusal(sock, self._allow_root) if sock is not None else "no socket"
        if reason is not None:
            self._refusals.refused(reason)
            await _close_writer(writer)
            return
        self._connections[task] = writer
        try:
            while data := await reader.read(_READ_SIZE):
                frames.feed(data)
                for body in frames:
                    message = to_daemon_decoder.decode(body)
                    if channel is None:
                        channel = await self._register(message, writer, sock)
                        if channel is None:
                            return
                        self._reading[channel.node_id] = task
                    else:
                        self._handle_safely(channel, message)
        except (ProtocolError, msgspec.DecodeError) as error:
            who = f"node {channel.node_id}" if channel else "an unregistered peer"
            log.warning("closing the control connection of %s: %s", who, error)
        except ConnectionError:
            pass
        finally:
            del self._connections[task]
            if channel is not None and self._reading.get(channel.node_id) is task:
                del self._reading[channel.node_id]
            if channel is not None and channel.writer is writer:
                self._close_channel(channel)
            await _close_writer(writer)
            if channel is not None and channel.writer is writer:
                self._events.disconnected(channel.node_id)

    async def _register(
        self, message: object, writer: asyncio.StreamWriter, sock: socket.socket
    ) -> _Channel | None:
        error = await self._register_error(message, sock)
        reply = RegisterReply(protocol_version=PROTOCOL_VERSION, error=error)
        writer.write(frame(node_encoder.encode(reply)))
        if error is not None:
            log.warning("refused a node connection: %s", error)
            return None
        assert isinstance(message, Register)
        channel = self._channels[message.node_id]
        channel.writer = writer
        channel.state = ChannelState.REGISTERED
        return channel

    async def _register_error(self, message: object, sock: socket.socket) -> str | None:
        if not isinstance(message, Register):
            return f"the first message must be `register`, got `{type(message).__name__}`"
        if message.protocol_version != PROTOCOL_VERSION:
            return (
                f"protocol version mismatch: node `{message.node_id}` speaks "
                f"{message.protocol_version}, this daemon speaks {PROTOCOL_VERSION}; "
                "install matching versions of dora-node-api and dora-dataflow"
            )
        if message.dataflow_id != self.dataflow_id:
            return f"unknown dataflow `{message.dataflow_id}` (this daemon runs {self.dataflow_id})"
        node = excerpt(message.node_id)
        channel = self._channels.get(message.node_id)
        if channel is None:
            return f"dataflow {self.dataflow_id} has no node `{node}`"
        # the secret is never quoted, right or wrong
        if not secret_matches(message.secret, self._secrets.get(message.node_id)):
            return f"wrong or missing secret for node `{node}`"
        if self._check_process is not None:
            try:
                pid = peer_pid_of(sock)
            except OSError:
                pid = 0
            why = await self._check_process(message.node_id, pid)
            if why is not None:
                return f"the connecting process cannot be node `{node}`: {why}"
            channel = self._channels[message.node_id]  # a restart may have replaced it meanwhile
        if channel.state is not ChannelState.WAITING:
            return f"node `{node}` is already connected ({channel.state.value})"
        return None

    def _handle_safely(self, channel: _Channel, message: object) -> None:
        # A failure while handling one message must not cost the node its connection.
        self._activity[channel.node_id] = time.monotonic()  # any message counts
        try:
            self._handle(channel, message)
        except Exception:
            log.exception(
                "handling `%s` from node %s failed", type(message).__name__, channel.node_id
            )

    def _handle(self, channel: _Channel, message: object) -> None:
        if isinstance(message, Subscribe):
            if channel.state is not ChannelState.REGISTERED:
                log.warning("node %s subscribed twice; ignored", channel.node_id)
                return
            channel.state = ChannelState.PARKED
            channel.subscribed = True
            if self.decided:
                self._answer(channel)
            elif self.barrier.subscribed(channel.node_id):
                self._locally_decided()
        elif isinstance(message, CloseOutputs):
            self._events.outputs_closed(channel.node_id, list(message.outputs))
        elif isinstance(message, OutputsDone):
            channel.done = True
        elif isinstance(message, NodeLog):
            self._events.node_log(channel.node_id, message)
        elif isinstance(message, Heartbeat):
            pass  # counted as activity in _handle_safely
        elif isinstance(message, BrokenInputs):
            self._events.inputs_broken(channel.node_id, list(message.input_ids))
        elif isinstance(message, PendingInputs):
            self._events.inputs_pending(channel.node_id, message.count)
        elif isinstance(message, DroppedMessages):
            self._events.messages_dropped(channel.node_id, message)
        elif isinstance(message, UnreadInputs):
            self._events.inputs_unread(channel.node_id, dict(message.counts))
        else:
            log.warning(
                "node %s sent an unexpected `%s`; ignored", channel.node_id, type(message).__name__
            )

    def _close_channel(self, channel: _Channel) -> None:
        channel.state = ChannelState.CLOSED
        channel.pending.clear()
        if channel.writer is not None and not channel.writer.is_closing():
            channel.writer.close()


def peer_pid_of(sock: socket.socket) -> int:
    """The pid of the process that connected ``sock`` (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[0])


def spawned_session_check(
    spawned_pid: Callable[[str], Awaitable[int | None]], dynamic: set[str]
) -> PeerCheck:
    """A :data:`PeerCheck` for spawned nodes: the process must belong to the session the
    daemon created for the node's current incarnation (it starts each node with
    ``setsid``, so the session id is the spawned pid; wrappers such as ``uv run`` or a
    shell stay in it). ``spawned_pid(node)`` waits for a spawn in progress (a fast
    native node registers before the spawn call returned), and is None while no
    incarnation runs (between a crash and its restart): then nobody may take the slot.
    Dynamic nodes are not spawned and are not checked here."""

    async def check(node_id: str, pid: int) -> str | None:
        if node_id in dynamic:
            return None
        expected = await spawned_pid(node_id)
        if expected is None:
            return "no process of this node is running (it is restarting or ended)"
        session = session_of(pid) if pid > 0 else None
        if session != expected:
            return f"pid {pid} is not in the session of the process the daemon spawned"
        return None

    return check


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
