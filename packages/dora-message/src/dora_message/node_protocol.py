"""Messages between a node and its daemon (control plane of one machine).

Each node keeps one Unix-socket connection to the daemon. The node sends
:data:`NodeToDaemon` messages, the daemon answers and pushes :data:`DaemonToNode`
messages (timer ticks, stops, closed inputs, log lines routed as data). Data between
nodes does not pass here: see :mod:`dora_message.data_protocol`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.safe_decode import SafeDecoder

PROTOCOL_VERSION = "dora-py-2"


class _Msg(msgspec.Struct, frozen=True, array_like=True, tag=True, omit_defaults=False):
    """Base: encoded as a msgpack array whose first item is the type tag."""


# ---- node -> daemon -------------------------------------------------------------


class Register(_Msg, tag="register"):
    """First message of every connection. ``secret`` is the node's secret from its
    config (``NodeConfig.secret``): without the right one the daemon refuses."""

    dataflow_id: str
    node_id: str
    protocol_version: str
    pid: int
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"Register({self.dataflow_id!r}, {self.node_id!r}, {self.protocol_version!r})"


class Subscribe(_Msg, tag="subscribe"):
    """Ask for events; answered once every node of the dataflow has subscribed."""


class CloseOutputs(_Msg, tag="close_outputs"):
    """The node will not send on these outputs again."""

    outputs: list[str]


class OutputsDone(_Msg, tag="outputs_done"):
    """The node will not send anything again (it is about to exit)."""


class NodeLog(_Msg, tag="log"):
    """A structured log record from ``node.log`` sent out of band (unused for stdout)."""

    level: str
    message: str
    target: str | None = None
    fields: dict[str, str] | None = None


class Heartbeat(_Msg, tag="heartbeat"):
    """The node is alive and its code still calls into dora (health check keep-alive)."""


class BrokenInputs(_Msg, tag="broken_inputs"):
    """The inputs whose ``input_timeout`` circuit breaker is open now (empty: none)."""

    input_ids: list[str]


class PendingInputs(_Msg, tag="pending_inputs"):
    """How many received messages wait in the node's input queues now (``dora top``'s
    QUEUE); sent about once a second while the number changes."""

    count: int


class DroppedMessages(_Msg, tag="dropped_messages"):
    """Messages of ``output_id`` that could not be handed to ``receiver`` (not connected:
    restarting, or gone) since the previous report of this pair. ``resumed`` is true when
    the sender reached the receiver again: the end of one outage (the daemon warns then).
    Sent about once a second while the count grows, at once on resumption, and at exit."""

    output_id: str
    receiver: str
    count: int
    resumed: bool = False


class UnreadInputs(_Msg, tag="unread_inputs"):
    """Messages that reached the node on these inputs (input id -> count) but that its
    code never got, because it exits and may be restarted: its queues, and what was still
    in its data sockets. Sent once, before ``OutputsDone``."""

    counts: dict[str, int]


NodeToDaemon = (
    Register
    | Subscribe
    | CloseOutputs
    | OutputsDone
    | NodeLog
    | Heartbeat
    | BrokenInputs
    | PendingInputs
    | DroppedMessages
    | UnreadInputs
)


# ---- daemon -> node -------------------------------------------------------------


class RegisterReply(_Msg, tag="register_reply"):
    """Answer to :class:`Register`; ``error`` is set when the node is refused."""

    protocol_version: str
    error: str | None = None


class SubscribeReply(_Msg, tag="subscribe_reply"):
    """Answer to :class:`Subscribe`, sent when the start barrier releases."""

    error: str | None = None


class Tick(_Msg, tag="tick"):
    """A timer fired for these inputs of the node."""

    input_ids: list[str]
    timestamp_ns: int


class TextInput(_Msg, tag="text_input"):
    """A one-string input built by the daemon (``dora/logs``, ``send_stdout_as``, ...)."""

    input_ids: list[str]
    text: str
    timestamp_ns: int
    parameters: dict[str, Any] = {}


class InputClosed(_Msg, tag="input_closed"):
    """The producer of these inputs finished; ``source_node`` is that producer."""

    input_ids: list[str]
    source_node: str


class InputRecovered(_Msg, tag="input_recovered"):
    """Data came back on a circuit-broken input."""

    input_ids: list[str]


class NodeRestarted(_Msg, tag="node_restarted"):
    """An upstream node was restarted."""

    source_node: str


class NodeFailed(_Msg, tag="node_failed"):
    """An upstream node failed and will not come back."""

    source_node: str
    error: str
    affected_input_ids: list[str]


class ParamUpdate(_Msg, tag="param_update"):
    """A runtime parameter was set (``dora param set``); ``value_json`` is JSON text."""

    key: str
    value_json: str


class ParamDeleted(_Msg, tag="param_deleted"):
    """A runtime parameter was deleted (``dora param delete``)."""

    key: str


class Reload(_Msg, tag="reload"):
    """Hot reload (``dora start --hot-reload``): re-import the operator's Python file."""

    operator_id: str


STOP_DATAFLOW = "dataflow"  # the whole dataflow stops
STOP_NODE = "node"  # only this node stops, for good (``dora node stop``)
STOP_RESTART = "restart"  # only this node stops, and is started again (``dora node restart``)


class Stop(_Msg, tag="stop"):
    """Stop the node; ``cause`` is ``MANUAL`` or ``ALL_INPUTS_CLOSED``.

    ``scope`` says what stops: :data:`STOP_DATAFLOW`, :data:`STOP_NODE` or
    :data:`STOP_RESTART` (then the node keeps its outputs open for its next incarnation).
    """

    cause: str = "MANUAL"
    scope: str = STOP_DATAFLOW


DaemonToNode = (
    RegisterReply
    | SubscribeReply
    | Tick
    | TextInput
    | InputClosed
    | InputRecovered
    | NodeRestarted
    | NodeFailed
    | Stop
    | ParamUpdate
    | ParamDeleted
    | Reload
)

node_encoder = msgspec.msgpack.Encoder()
# Safe: a failure is a MalformedMessage (a msgspec.ValidationError), never RecursionError.
to_daemon_decoder: SafeDecoder[NodeToDaemon] = SafeDecoder(msgspec.msgpack.Decoder(NodeToDaemon))
to_node_decoder: SafeDecoder[DaemonToNode] = SafeDecoder(msgspec.msgpack.Decoder(DaemonToNode))
