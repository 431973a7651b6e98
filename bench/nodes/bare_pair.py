"""The bare floors: plain Python processes passing paced messages over Unix sockets.

No dora and no pyarrow: the sender writes a 21-byte header (seq, ``t_send``, size, warm)
and the payload in one ``sendall``; the receiver reads both completely, then takes
``time.time_ns()``, as a node sees a message only once all of it is there. Same payloads
(filled with ``expected_byte(seq)``) and the same absolute-schedule pacing as the
benchmark's sender, so the figure is what any Python process pays on this machine.

The relay role makes a chain of them (send -> relay ... relay -> recv), each relay
forwarding header and payload unchanged in one ``sendall``: what a chain of N Python
processes costs per hop on this machine, with no framework at all.

    bare_pair.py recv SOCKET RESULT_JSON EXPECT     (listens; acks once EXPECT arrived)
    bare_pair.py send SOCKET SIZES COUNTS WARMUPS INTERVAL_MS   (comma lists per size)
    bare_pair.py relay IN_SOCKET OUT_SOCKET EXPECT  (prints "ready" once connected
        downstream; after EXPECT messages prints, as JSON, its process CPU time per
        message from the first measured (not warm-up) one to the last, then passes the
        ack back upstream)
"""

import json
import socket
import struct
import sys
import time

HEADER = struct.Struct("<QQIB")  # seq, t_send ns, size, warm
CONNECT_TIMEOUT_S = 60.0


def expected_byte(seq: int) -> int:
    return seq % 251 + 1  # as bench/nodes/common.py, without importing pyarrow


def read_exact(conn: socket.socket, view: memoryview, size: int) -> None:
    got = 0
    while got < size:
        n = conn.recv_into(view[got:size])
        if n == 0:
            raise ConnectionError("the sender closed mid-message")
        got += n


def receive(path: str, result_path: str, expect: int) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    print("ready", flush=True)
    conn, _ = listener.accept()
    head = bytearray(HEADER.size)
    head_view = memoryview(head)
    body = bytearray(1 << 20)
    body_view = memoryview(body)
    per_size: dict[str, list[int]] = {}
    corrupt = received = 0
    while received < expect:
        read_exact(conn, head_view, HEADER.size)
        seq, t_send, size, warm = HEADER.unpack(head)
        if size > len(body):
            body = bytearray(size)
            body_view = memoryview(body)
        read_exact(conn, body_view, size)
        t_recv = time.time_ns()
        received += 1
        if size and (body[0] != expected_byte(seq) or body[size - 1] != expected_byte(seq)):
            corrupt += 1
        if not warm:
            per_size.setdefault(str(size), []).append(t_recv - t_send)
    conn.sendall(b"k")
    with open(result_path, "w") as out:
        json.dump({"received": received, "corrupt": corrupt, "lat_ns": per_size}, out)


def relay(in_path: str, out_path: str, expect: int) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(in_path)
    listener.listen(1)
    out = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:  # the downstream process may not be listening yet: all start at once
        try:
            out.connect(out_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    print("ready", flush=True)
    conn, _ = listener.accept()
    message = bytearray(HEADER.size + (1 << 20))
    view = memoryview(message)
    cpu_first, first_at = 0.0, 0
    for forwarded in range(1, expect + 1):
        read_exact(conn, view, HEADER.size)
        size, warm = HEADER.unpack_from(message)[2:]
        if HEADER.size + size > len(message):
            grown = bytearray(HEADER.size + size)
            grown[: HEADER.size] = view[: HEADER.size]
            message, view = grown, memoryview(grown)
        read_exact(conn, view[HEADER.size :], size)
        out.sendall(view[: HEADER.size + size])
        if not first_at and not warm:
            cpu_first, first_at = time.process_time(), forwarded
    spent = time.process_time() - cpu_first
    print(json.dumps({"cpu_per_message_s": spent / max(expect - first_at, 1)}), flush=True)
    conn.sendall(out.recv(1))  # the sink's ack, back towards the sender


def send(path: str, sizes: list[int], counts: list[int], warmups: list[int], interval_s: float):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    seq = 0
    due = time.monotonic()
    for size, count, warmup in zip(sizes, counts, warmups, strict=True):
        for i in range(warmup + count):
            body = bytes([expected_byte(seq)]) * size  # built before the clock starts
            due += interval_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            conn.sendall(HEADER.pack(seq, time.time_ns(), size, i < warmup) + body)
            seq += 1
    conn.recv(1)  # the receiver's ack: everything arrived


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    role, path, *rest = sys.argv[1:]
    if role == "recv":
        receive(path, rest[0], int(rest[1]))
    elif role == "relay":
        relay(path, rest[0], int(rest[1]))
    else:
        send(path, ints(rest[0]), ints(rest[1]), ints(rest[2]), float(rest[3]) / 1000.0)


main()
