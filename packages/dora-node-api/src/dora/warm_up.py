"""Warm an interpreter that nodes are forked from: run once what every node runs first.

The daemon's fork server (``dora_daemon.forkserver_main``) imports pyarrow and
``dora.node`` once and forks every Python node from that interpreter. Imports are only
part of a node's first-use cost: the first message also builds pyarrow's IPC and type
machinery (the first ``Schema.serialize`` alone is ~1 ms), msgspec's per-type decoding
state, and Python's specialized bytecode of the node API's hot functions. A fork
inherits all of that, so :func:`warm_up` does it once in the server, on in-memory data:
the node's start (its config, the daemon handshake), a small message sent and received
the way the data plane does, and the pyarrow calls node code makes on its first input.

It must leave nothing a node could tell apart from a cold start: no sockets, files,
threads or environment changes, and nothing kept in a module's state (every object
made here is garbage when it returns, except what pyarrow and msgspec cache for types).
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

from dora._arrow import DataItem, TypeInfo, batch_message, flat_parts, join_parts
from dora._daemon_protocol import DaemonProtocol
from dora._metadata import Clock, encode_parameters
from dora._receiver import _decode_frame
from dora._scheduler import Scheduler
from dora_message.config import InputConfig, NodeConfig, Receiver, decode_node_config
from dora_message.config import encode_node_config as _encode_config
from dora_message.data_protocol import Data, Hello, data_encoder
from dora_message.dataplane.framing import FrameParser, encode_frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    RegisterReply,
    SubscribeReply,
    node_encoder,
)

# Python specializes a function's bytecode after a few calls (8 in 3.11): repeat the
# message path past that, so forked nodes start with it specialized
_ROUNDS = 16

# the array types nodes send most (each type's schema is built once per output)
_TYPES = (pa.uint8(), pa.int64(), pa.float32(), pa.float64(), pa.string())


def warm_up() -> None:
    """Run a node's first-use code paths once on in-memory data (see the module doc)."""
    wire = FrameParser()  # one receive buffer for every frame here (256 KiB each)
    config = _start(wire)
    for arrow_type in _TYPES:
        TypeInfo(arrow_type)
    clock = Clock()
    scheduler = Scheduler({input_id: (10, "drop_oldest") for input_id in config.inputs})
    for seq in range(_ROUNDS):
        payload = pa.py_buffer(bytes([seq % 251 + 1]) * 8)
        small = pa.Array.from_buffers(pa.uint8(), 8, [None, payload])
        _deliver(wire, scheduler, clock, _buffers_message(small, clock, seq))
    _deliver(wire, scheduler, clock, _buffers_message(pa.array(["a", None]), clock, 0))
    _deliver(wire, scheduler, clock, _ipc_message(pa.array([[1, 2], [3]]), clock))
    _deliver(wire, scheduler, clock, Data("out", clock.now(), {}, "raw", inline=b"bytes"))
    _node_code_arrays()


def _start(wire: FrameParser) -> NodeConfig:
    """A node's start without its sockets: the config from the environment's JSON, the
    registration and the daemon's replies, a sender's hello."""
    sample = NodeConfig(
        dataflow_id="00000000-0000-0000-0000-000000000000",
        node_id="warm-up",
        daemon_address="\0dora-daemon-warm-up",
        listen_address="\0dora-warm-up",
        inputs={"in": InputConfig(source="source/out")},
        outputs=["out"],
        routes={"out": [Receiver(node_id="sink", address="\0dora-sink", token="0" * 64)]},
        dataflow_descriptor={"nodes": [{"id": "warm-up", "path": "warm_up.py"}]},
        secret="0" * 64,
        senders={"source": "0" * 64},
    )
    config = decode_node_config(_encode_config(sample))
    protocol = DaemonProtocol(config)
    protocol.register(0)
    protocol.receive(encode_frame(node_encoder, RegisterReply(PROTOCOL_VERSION)))
    protocol.data_to_send()
    protocol.receive(encode_frame(node_encoder, SubscribeReply()))
    hello = Hello(config.dataflow_id, "source", PROTOCOL_VERSION, "0" * 64)
    _decode_frame(_through(wire, encode_frame(data_encoder, hello)))
    return config


def _buffers_message(array: pa.Array, clock: Clock, seq: int) -> Data:
    """A flat array as a sender puts it inline: its buffers, its type's schema along."""
    info = TypeInfo(array.type)
    params = encode_parameters({"seq": seq, "t_send": time.time_ns(), "warm": False})
    layout, parts, _total = flat_parts(array)
    inline = join_parts(parts)
    return Data("out", clock.now(), params, "buffers", info.schema_bytes, inline, layout=layout)


def _ipc_message(array: pa.Array, clock: Clock) -> Data:
    """A nested array as a sender puts it inline: one IPC record batch message."""
    info = TypeInfo(array.type)
    body = memoryview(batch_message(array, info))
    return Data("out", clock.now(), {}, "ipc", info.schema_bytes, body)


def _deliver(wire: FrameParser, scheduler: Scheduler, clock: Clock, data: Data) -> None:
    """``data`` through the wire and a receiver's queue to an INPUT event, which node
    code then reads and forwards (its metadata as parameters)."""
    msg = _decode_frame(_through(wire, encode_frame(data_encoder, data)))
    if not isinstance(msg, Data):
        raise RuntimeError(f"warm-up: a Data frame decoded as {type(msg).__name__}")
    schema = None
    if msg.schema is not None:
        parsed = pa.ipc.read_schema(pa.py_buffer(msg.schema))
        schema = parsed if msg.kind == "ipc" else parsed.field(0).type
    scheduler.push_input("in", DataItem(msg, schema, None), False, False)
    popped = scheduler.pop()
    if not isinstance(popped, tuple):
        raise RuntimeError(f"warm-up: the input just queued popped as {popped!r}")
    input_id, item = popped
    event = item.event(input_id, clock)
    event["value"].to_pylist()
    encode_parameters(event["metadata"])


def _node_code_arrays() -> None:
    """What node code typically does with pyarrow on its first input."""
    values: list[Any] = [pa.array([1, 2, 3]), pa.array([0.5, 1.5]), pa.array(["a", "b"])]
    for array in values:
        array.to_pylist()
        array[0].as_py()


def _through(wire: FrameParser, frame: bytearray) -> memoryview:
    """The frame's body as a receiver's parser reads it (valid until the next frame)."""
    wire.feed(frame)
    (body,) = wire.frames()
    return body
