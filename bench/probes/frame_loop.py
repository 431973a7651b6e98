"""Probe: instructions per frame of a node's receive side in a burst, repeatable.

A node's ``Receiver`` (no daemon, no background thread: nothing else runs) reads rounds of
500 small ``Data`` frames from a real socket in one read, queues them and pops them, under
``valgrind --tool=callgrind``; the difference between a long and a short run, per frame,
is printed. One thread only, with the garbage collector off, so the count is the same
from run to run (unlike ``hot_path.py --count-instructions``, whose two nodes' threads
move it by a few %): a change of a few hundred instructions shows. Building the frames
is counted too (the same in every version). ``next()``'s event building is not counted.

Run from the repo root: ``uv run python bench/probes/frame_loop.py``. For an older
version, put its ``packages/dora-node-api/src`` and ``packages/dora-message/src`` (from a
``git worktree``) first on ``PYTHONPATH``.
"""

from __future__ import annotations

import gc
import os
import socket
import sys

from callgrind import instructions

FRAMES = 500  # per read, as a burst's reads hold hundreds to thousands
TIMESTAMP = 1_765_000_000_000_000_000


def run(rounds: int) -> None:
    """Receive ``rounds`` reads of :data:`FRAMES` frames each (the counted child)."""
    import pyarrow as pa

    from dora._inbox import Inbox
    from dora._receiver import Receiver
    from dora._scheduler import Scheduler
    from dora_message.config import InputConfig, NodeConfig
    from dora_message.data_protocol import Data, Hello, data_encoder
    from dora_message.dataplane.framing import encode_frame
    from dora_message.dataplane.receiver import InConn
    from dora_message.node_protocol import PROTOCOL_VERSION

    big = 10**6
    config = NodeConfig(
        dataflow_id="df",
        node_id="rx",
        daemon_address="unused",
        listen_address="unused",
        inputs={"in": InputConfig(source="tx/out", queue_size=big)},
        senders={"tx": "token"},
    )
    inbox = Inbox(Scheduler({"in": (big, "drop_oldest")}))
    receiver = Receiver(config, None, inbox, lambda _s, _c: None, lambda _s: None, lambda: None)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    conn = InConn(ours, receiver._mark_dirty)
    schema = pa.schema([pa.field("data", pa.uint8())]).serialize().to_pybytes()
    layout = [8, -1, 0, -1, 8]
    theirs.sendall(encode_frame(data_encoder, Hello("df", "tx", PROTOCOL_VERSION, "token")))
    first = Data("out", TIMESTAMP, {}, "buffers", schema, b"\x01" * 8, layout=layout)
    theirs.sendall(encode_frame(data_encoder, first))
    receiver.on_readable(conn)
    gc.disable()
    for _ in range(rounds):
        frames = bytearray()
        for i in range(FRAMES):
            params = {"seq": i, "t_send": TIMESTAMP, "size": 8, "warm": False}
            msg = Data("out", TIMESTAMP + i, params, "buffers", None, b"\x01" * 8, layout=layout)
            frames += encode_frame(data_encoder, msg)
        theirs.sendall(frames)
        receiver.on_readable(conn)
        while inbox.sched.pop() is not None:
            pass
    os._exit(0)


def count(rounds: int) -> int:
    """Instructions of a whole child run, as callgrind counts them."""
    return instructions([__file__, "--rounds", str(rounds)], {"PYTHONHASHSEED": "0"})


def main() -> None:
    if sys.argv[1:2] == ["--rounds"]:
        run(int(sys.argv[2]))
    short, long = 2, 8
    per_frame = (count(long) - count(short)) / ((long - short) * FRAMES)
    print(f"instructions per frame (building, receiving, queueing, popping): {per_frame:.0f}")


if __name__ == "__main__":
    main()
