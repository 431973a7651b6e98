"""Probe: the one-way latency floor of any pure-Python node API on this machine.

Two processes exchange messages over a Unix socket, paced like the benchmark's latency runs
(default 10 ms apart), and the receiver reports the p50/p90 of ``receive time - send time``.
Nothing of dora runs; each level adds only the work that every Python node API must do:

* ``socket``: 8-byte timestamps over the socket, nothing else (the wake-up floor);
* ``arrow``: the sender takes the data buffer of a ``pyarrow`` array and encodes a metadata
  dict with msgspec; the receiver decodes it and builds a ``pyarrow`` array over the bytes
  and an event dict, as a node needs to hand ``event["value"]`` to user code.

On a shared VM most of each figure is cold caches, not instructions: after 10 ms asleep a
few microseconds of warm Python cost ten times as much. Comparing ``arrow`` with the
benchmark's latency p50 shows how much of ours is the node API's own work; comparing it with
the peer's shows whether a target is reachable in pure Python at all on this machine.

With ``--calls`` it prints instead what single calls cost warm, after sleeping
``--interval-ms`` and after spinning as long (never leaving the CPU): an empty function, a
msgspec decode, ``pa.Array.from_buffers``.

Run: ``uv run python bench/probes/floor.py [--interval-ms 10] [--count 300] [--size 64]
[--calls]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time
from pathlib import Path

import msgspec
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmark's modules
from stats import percentile

HEADER = struct.Struct("<I")


def send_socket(sock: socket.socket, _array: pa.Array, _encoder: msgspec.msgpack.Encoder) -> None:
    sock.sendall(time.time_ns().to_bytes(8, "little"))


def recv_socket(sock: socket.socket, _decoder: msgspec.msgpack.Decoder) -> int:
    return int.from_bytes(sock.recv(8), "little")


def send_arrow(sock: socket.socket, array: pa.Array, encoder: msgspec.msgpack.Encoder) -> None:
    meta = {"t_send": time.time_ns(), "len": len(array)}
    head = encoder.encode(meta)
    body = memoryview(array.buffers()[1])
    sock.sendmsg([HEADER.pack(len(head)), head, body])


_RECV_BUFFER = bytearray(1 << 20)  # received into, like a node's reusable read buffer


def recv_arrow(sock: socket.socket, decoder: msgspec.msgpack.Decoder) -> int:
    view = memoryview(_RECV_BUFFER)
    n = sock.recv_into(view)
    (head_len,) = HEADER.unpack_from(view)
    meta = decoder.decode(view[4 : 4 + head_len])
    body = pa.py_buffer(bytes(view[4 + head_len : n]))  # the buffer is reused: copy out
    value = pa.Array.from_buffers(pa.uint8(), meta["len"], [None, body])
    event = {"type": "INPUT", "id": "data", "value": value, "metadata": meta}
    return event["metadata"]["t_send"]


LEVELS = {"socket": (send_socket, recv_socket), "arrow": (send_arrow, recv_arrow)}


def run(level: str, interval_s: float, count: int, size: int) -> tuple[float, float]:
    send, recv = LEVELS[level]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    results_r, results_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # receiver
        a.close()
        decoder = msgspec.msgpack.Decoder()
        lat = []
        for _ in range(count):
            t_send = recv(b, decoder)
            lat.append(time.time_ns() - t_send)
        p50, p90 = percentile(lat, 50) / 1e3, percentile(lat, 90) / 1e3
        os.write(results_w, f"{p50} {p90}".encode())
        os._exit(0)
    b.close()
    encoder = msgspec.msgpack.Encoder()
    array = pa.array([1] * size, type=pa.uint8())
    due = time.monotonic()
    for _ in range(count):
        due += interval_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send(a, array, encoder)
    os.waitpid(pid, 0)
    p50, p90 = (float(x) for x in os.read(results_r, 100).split())
    os.close(results_r)
    os.close(results_w)
    a.close()
    return p50, p90


def call_costs(interval_s: float, count: int) -> None:
    """Median cost of single calls, warm and each after ``interval_s`` asleep."""
    decoder = msgspec.msgpack.Decoder()
    meta = msgspec.msgpack.encode({"seq": 1, "t_send": time.time_ns(), "size": 64})
    body = pa.py_buffer(bytes(64))
    calls = {
        "empty function": lambda: None,
        "msgspec decode": lambda: decoder.decode(meta),
        "pa.Array.from_buffers": lambda: pa.Array.from_buffers(pa.uint8(), 64, [None, body]),
    }
    gap = f"{interval_s * 1000:g} ms"
    waits = {"warm": None, f"after {gap} asleep": time.sleep, f"after {gap} spinning": _spin}
    for name, call in calls.items():
        for label, wait in waits.items():
            times = []
            for _ in range(count):
                if wait is not None:
                    wait(interval_s)
                start = time.perf_counter_ns()
                call()
                times.append(time.perf_counter_ns() - start)
            print(f"{name:22s} {label:24s} p50 {percentile(times, 50) / 1e3:7.1f} us")


def _spin(seconds: float) -> None:
    """Stay on the CPU (never sleep) for ``seconds``: whatever a call then pays is not the
    cost of waking up but of its code and data having left the caches meanwhile."""
    end = time.perf_counter_ns() + int(seconds * 1e9)
    while time.perf_counter_ns() < end:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--calls", action="store_true", help="cost of single calls, cold")
    args = parser.parse_args()
    if args.calls:
        call_costs(args.interval_ms / 1000, args.count)
        return
    for level in LEVELS:
        p50, p90 = run(level, args.interval_ms / 1000, args.count, args.size)
        print(f"{level:7s} p50 {p50:7.1f} us  p90 {p90:7.1f} us")


if __name__ == "__main__":
    main()
