"""The node's side of the daemon protocol, sans-I/O (spec/runtime.md §4).

:class:`DaemonProtocol` turns bytes from the daemon into :data:`DaemonEvent` values and
the node's calls into bytes to send; it owns no socket, thread or clock. Start-up:
:meth:`~DaemonProtocol.register` gives the ``Register`` frame; the ``RegisterReply``
(protocol version, refusal) makes it queue ``Subscribe`` (:meth:`~DaemonProtocol.data_to_send`);
the ``SubscribeReply`` comes once the daemon's start barrier released, and then the
node runs (:attr:`~DaemonProtocol.ready`). A refusal raises :class:`StartupError`.
Messages that arrive behind a reply are kept in order and come out of
:meth:`~DaemonProtocol.events` like every later one.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any

import msgspec

from dora.events import (
    Event,
    error_event,
    input_recovered_event,
    node_failed_event,
    node_restarted_event,
    param_deleted_event,
    param_update_event,
    reload_event,
)
from dora_message.config import NodeConfig
from dora_message.dataplane.framing import FrameParser, encode_frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    InputClosed,
    InputRecovered,
    NodeFailed,
    NodeRestarted,
    NodeToDaemon,
    ParamDeleted,
    ParamUpdate,
    Register,
    RegisterReply,
    Reload,
    Stop,
    Subscribe,
    SubscribeReply,
    TextInput,
    Tick,
    node_encoder,
    to_node_decoder,
)

ALL_INPUTS_CLOSED = "ALL_INPUTS_CLOSED"


class StartupError(RuntimeError):
    """The daemon refused the node, or the start barrier failed."""


class Phase(enum.Enum):
    """Where the connection stands."""

    NEW = "new"
    REGISTERING = "registering"  # Register sent, waiting for RegisterReply
    SUBSCRIBING = "subscribing"  # Subscribe sent, waiting for the start barrier
    RUNNING = "running"
    FAILED = "failed"  # refused: nothing more is read


class TimerTick(msgspec.Struct, frozen=True):
    """A tick on the node's timer inputs."""

    input_ids: Sequence[str]
    timestamp_ns: int


class Text(msgspec.Struct, frozen=True):
    """A daemon-made text input (``send_stdout_as``, ``dora/logs``)."""

    input_ids: Sequence[str]
    text: str
    timestamp_ns: int
    parameters: dict[str, Any]


class InputsClosed(msgspec.Struct, frozen=True):
    """The producer of ``input_ids`` closed them for good."""

    input_ids: Sequence[str]
    source_node: str


class AllInputsClosed(msgspec.Struct, frozen=True):
    """Every input closed: close each one behind its producer's data (a STOP follows)."""


class Stopped(msgspec.Struct, frozen=True):
    """The daemon asks the node to stop; ``scope`` says what stops (node_protocol)."""

    scope: str | None


class Notice(msgspec.Struct, frozen=True):
    """Events for the node's event stream as they are (restarts, failures, parameters)."""

    events: tuple[Event, ...]


class Malformed(msgspec.Struct, frozen=True):
    """A message that could not be decoded (skipped)."""

    error: str


DaemonEvent = TimerTick | Text | InputsClosed | AllInputsClosed | Stopped | Notice | Malformed


class DaemonProtocol:
    """One node's connection to its daemon, without the connection."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.phase = Phase.NEW
        self._frames = FrameParser()
        self._outgoing = bytearray()
        self._events: list[DaemonEvent] = []

    @property
    def registered(self) -> bool:
        """The daemon accepted the registration (the subscription may still wait)."""
        return self.phase in (Phase.SUBSCRIBING, Phase.RUNNING)

    @property
    def ready(self) -> bool:
        """The start barrier released: the node runs."""
        return self.phase is Phase.RUNNING

    # ---- calls -> bytes -----------------------------------------------------------

    def register(self, pid: int) -> bytearray:
        """The first frame of the connection."""
        if self.phase is not Phase.NEW:
            raise RuntimeError("register() starts a connection once")
        self.phase = Phase.REGISTERING
        config = self.config
        return self.encode(
            Register(config.dataflow_id, config.node_id, PROTOCOL_VERSION, pid, config.secret)
        )

    @staticmethod
    def encode(message: NodeToDaemon) -> bytearray:
        """The frame of one message to the daemon."""
        return encode_frame(node_encoder, message)

    def data_to_send(self) -> bytes:
        """Bytes the protocol itself must send now (``Subscribe`` during start-up)."""
        out, self._outgoing = bytes(self._outgoing), bytearray()
        return out

    # ---- bytes -> events ----------------------------------------------------------

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes read from the daemon. Raises :class:`StartupError` on a refusal."""
        if self.phase is Phase.FAILED:
            return
        self._frames.feed(data)
        for body in self._frames.frames():
            try:
                message = to_node_decoder.decode(body)
            except Exception as error:  # msgspec.DecodeError, ValidationError
                self._events.append(Malformed(str(error)))
                continue
            self._message(message)

    def events(self) -> list[DaemonEvent]:
        """What arrived since the last call, in order."""
        events, self._events = self._events, []
        return events

    def _message(self, message: object) -> None:
        if isinstance(message, RegisterReply):
            if self.phase is Phase.REGISTERING:
                self._registered(message)
            return  # a late reply changes nothing
        if isinstance(message, SubscribeReply):
            if self.phase is Phase.SUBSCRIBING:
                if message.error:
                    self.phase = Phase.FAILED
                    raise StartupError(message.error)
                self.phase = Phase.RUNNING
            return
        event = translate(message)
        if event is not None:
            self._events.append(event)

    def _registered(self, reply: RegisterReply) -> None:
        if reply.protocol_version != PROTOCOL_VERSION:
            self.phase = Phase.FAILED
            raise StartupError(
                f"protocol version mismatch: this node API (dora-node-api) speaks "
                f"{PROTOCOL_VERSION}, the daemon speaks {reply.protocol_version}"
                + (f" ({reply.error})" if reply.error else "")
            )
        if reply.error:
            self.phase = Phase.FAILED
            raise StartupError(f"the daemon refused node `{self.config.node_id}`: {reply.error}")
        self.phase = Phase.SUBSCRIBING
        self._outgoing += self.encode(Subscribe())


def translate(message: object) -> DaemonEvent | None:
    """What one daemon message means to the node (None: nothing)."""
    kind = type(message)
    if kind is Tick:
        assert isinstance(message, Tick)
        return TimerTick(message.input_ids, message.timestamp_ns)
    if kind is TextInput:
        assert isinstance(message, TextInput)
        return Text(message.input_ids, message.text, message.timestamp_ns, message.parameters)
    if kind is InputClosed:
        assert isinstance(message, InputClosed)
        return InputsClosed(message.input_ids, message.source_node)
    if kind is Stop:
        assert isinstance(message, Stop)
        if message.cause == ALL_INPUTS_CLOSED:
            return AllInputsClosed()
        return Stopped(message.scope)
    return _notice(message)


def _notice(message: object) -> Notice | None:
    if isinstance(message, NodeRestarted):
        return Notice((node_restarted_event(message.source_node),))
    if isinstance(message, NodeFailed):
        failed = node_failed_event(message.source_node, message.error, message.affected_input_ids)
        return Notice((failed,))
    if isinstance(message, InputRecovered):
        return Notice(tuple(input_recovered_event(iid) for iid in message.input_ids))
    if isinstance(message, ParamUpdate):
        try:
            value = json.loads(message.value_json)
        except ValueError as error:
            unreadable = f"unreadable value of parameter `{message.key}`: {error}"
            return Notice((error_event(unreadable),))
        return Notice((param_update_event(message.key, value),))
    if isinstance(message, ParamDeleted):
        return Notice((param_deleted_event(message.key),))
    if isinstance(message, Reload):
        return Notice((reload_event(message.operator_id),))
    return None  # a late RegisterReply / SubscribeReply: nothing to do
