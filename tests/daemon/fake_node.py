"""A tiny node that speaks the node control protocol with dora_message only.

It prints one line per protocol step (``REGISTERED``, ``SUBSCRIBE_SENT <ns>``,
``SUBSCRIBED <ns>``, ``EVENT <json>``) so tests can follow it through the daemon's
``on_log`` callback. Behaviour is chosen with flags, see ``parse_args``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import msgspec

from dora_message.config import decode_node_config
from dora_message.dataplane.framing import FrameBuffer, frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    CloseOutputs,
    NodeLog,
    Register,
    Stop,
    Subscribe,
    node_encoder,
    to_node_decoder,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-before-subscribe", type=int, default=None, metavar="CODE")
    parser.add_argument("--exit-before-subscribe", action="store_true")
    parser.add_argument("--gate", default=None, help="FIFO to read one line from before Subscribe")
    parser.add_argument("--exit-after-ticks", type=int, default=None)
    parser.add_argument("--exit-after-events", type=int, default=None)
    parser.add_argument("--exit-code", type=int, default=0, help="exit status after the loop")
    parser.add_argument("--ignore-stop", action="store_true", help="keep running after Stop")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--grandchild", action="store_true", help="start a long `sleep`")
    parser.add_argument("--close", action="append", default=[], help="CloseOutputs after subscribe")
    parser.add_argument("--node-log", default=None, help="send a NodeLog with this message")
    parser.add_argument("--version", default=PROTOCOL_VERSION)
    parser.add_argument("--print", action="append", default=[], help="print after subscribe")
    parser.add_argument("--stderr", default=None, help="print this to stderr before exiting")
    return parser.parse_args()


class Connection:
    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(address)
        self.frames = FrameBuffer()
        self.ready: list[bytes] = []

    def send(self, message: object) -> None:
        self.sock.sendall(frame(node_encoder.encode(message)))

    def recv(self) -> object | None:
        while not self.ready:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.frames.feed(data)
            self.ready.extend(self.frames)
        return to_node_decoder.decode(self.ready.pop(0))


def say(text: str) -> None:
    print(text, flush=True)


def main() -> int:
    args = parse_args()
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.grandchild:
        child = subprocess.Popen(["sleep", "1000"])
        say(f"GRANDCHILD {child.pid} PARENT {os.getpid()}")
    if args.fail_before_subscribe is not None:
        print("fake node: something is badly wrong", file=sys.stderr, flush=True)
        return args.fail_before_subscribe
    if args.exit_before_subscribe:
        return 0
    config = decode_node_config(os.environ["DORA_NODE_CONFIG"])
    conn = Connection(config.daemon_address)
    pid = os.getpid()
    conn.send(Register(config.dataflow_id, config.node_id, args.version, pid, config.secret))
    reply = conn.recv()
    if reply is None or getattr(reply, "error", None):
        print(f"register refused: {getattr(reply, 'error', None)}", file=sys.stderr, flush=True)
        return 3
    say("REGISTERED")
    if args.gate:
        with open(args.gate) as gate:
            gate.readline()
    say(f"SUBSCRIBE_SENT {time.time_ns()}")
    conn.send(Subscribe())
    reply = conn.recv()
    if reply is None or getattr(reply, "error", None):
        print(f"subscribe failed: {getattr(reply, 'error', None)}", file=sys.stderr, flush=True)
        return 4
    say(f"SUBSCRIBED {time.time_ns()}")
    for text in args.print:
        say(text)
    if args.node_log:
        conn.send(NodeLog(level="warn", message=args.node_log, target="fake"))
    if args.close:
        conn.send(CloseOutputs(args.close))
    ticks = events = 0
    while (message := conn.recv()) is not None:
        body = msgspec.structs.asdict(message)  # type: ignore[arg-type]
        say("EVENT " + json.dumps({"type": type(message).__name__, **body}))
        events += 1
        if isinstance(message, Stop) and not args.ignore_stop:
            break
        if type(message).__name__ == "Tick":
            ticks += 1
        if args.exit_after_ticks is not None and ticks >= args.exit_after_ticks:
            break
        if args.exit_after_events is not None and events >= args.exit_after_events:
            break
    if args.stderr:
        print(args.stderr, file=sys.stderr, flush=True)
    return args.exit_code


if __name__ == "__main__":
    sys.exit(main())
