"""The bare floor across machines: a zenoh-python publisher and subscriber, nothing else.

Same session settings as our daemons' (peer mode, explicit endpoints only, multicast
scouting off, shared memory off, a data send queue of 16 fragments) and the same publisher
settings (reliable, blocking under congestion, priority DATA). The subscriber checks each
payload as the benchmark's receiver node does (``common.verify_payload`` on a pyarrow array
over the bytes), so a burst's figure holds the same work on both sides. The subscriber
listens, the publisher dials it. The header (seq, ``t_send``, size, warm) rides in the
attachment, the payload is the sample itself.
The subscriber takes ``time.time_ns()`` as each sample comes out of its queue in the
Python thread, as a node would see it.

    bare_zenoh.py sub LISTEN_ENDPOINT RESULT_JSON EXPECT
    bare_zenoh.py pub CONNECT_ENDPOINT SIZE COUNT WARMUP INTERVAL_MS

The publisher waits for the subscriber's liveliness token before its first message (so
none is sent before the route exists) and, at the end, for the subscriber's ``done`` (so
none is lost by closing early), each for at most ``WAIT_S``. A 0 interval sends the
measured messages as a burst after paced warm-ups.
"""

import json
import struct
import sys
import threading
import time

import pyarrow as pa
import zenoh
from common import expected_byte, verify_payload

HEADER = struct.Struct("<QQIB")  # seq, t_send ns, size, warm
DATA, READY, DONE = "bench/bare/data", "bench/bare/ready", "bench/bare/done"
WAIT_S = 30.0
WARMUP_GAP_S = 0.05


def config(listen: list[str], connect: list[str]) -> zenoh.Config:
    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("listen/endpoints", json.dumps(listen))
    conf.insert_json5("connect/endpoints", json.dumps(connect))
    conf.insert_json5("scouting/multicast/enabled", "false")
    conf.insert_json5("transport/shared_memory/enabled", "false")
    conf.insert_json5("transport/link/tx/queue/size/data", "16")
    return conf


def subscribe(listen: str, result_path: str, expect: int) -> None:
    session = zenoh.open(config([listen], []))
    subscriber = session.declare_subscriber(DATA)
    done = session.declare_publisher(DONE)
    token = session.liveliness().declare_token(READY)  # after the subscriber: route exists
    print("ready", flush=True)
    lat_ns: list[int] = []
    seen: set[int] = set()
    first_send = last_recv = None
    corrupt = 0
    for sample in subscriber:
        t_recv = time.time_ns()
        seq, t_send, size, warm = HEADER.unpack(bytes(sample.attachment.to_bytes()))
        body = sample.payload.to_bytes()
        value = pa.Array.from_buffers(pa.uint8(), len(body), [None, pa.py_buffer(body)])
        if verify_payload(value, size, seq) is not None:
            corrupt += 1
        seen.add(seq)
        if not warm:
            lat_ns.append(t_recv - t_send)
            first_send = t_send if first_send is None else min(first_send, t_send)
            last_recv = t_recv
        if len(seen) == expect:
            break
    done.put(b"1")
    with open(result_path, "w") as out:
        json.dump(
            {
                "unique": len(seen),
                "corrupt": corrupt,
                "lat_ns": lat_ns,
                "first_send_ns": first_send,
                "last_recv_ns": last_recv,
            },
            out,
        )
    time.sleep(0.2)  # let the `done` sample leave before the session closes
    token.undeclare()
    session.close()


def publish(connect: str, size: int, count: int, warmup: int, interval_s: float) -> None:
    session = zenoh.open(config([], [connect]))
    ready, finished = threading.Event(), threading.Event()
    watch = session.liveliness().declare_subscriber(READY, lambda _s: ready.set(), history=True)
    done = session.declare_subscriber(DONE, lambda _s: finished.set())
    publisher = session.declare_publisher(
        DATA,
        congestion_control=zenoh.CongestionControl.BLOCK,
        reliability=zenoh.Reliability.RELIABLE,
        priority=zenoh.Priority.DATA,
    )
    if not ready.wait(WAIT_S):
        sys.exit(f"bare_zenoh: no subscriber within {WAIT_S} s")
    bodies = {}  # one payload per fill byte, built before the clock starts
    for seq in range(warmup + count):
        if expected_byte(seq) not in bodies:
            bodies[expected_byte(seq)] = bytes([expected_byte(seq)]) * size
    gap = interval_s if interval_s > 0 else WARMUP_GAP_S
    due = time.monotonic()
    for seq in range(warmup + count):
        if interval_s > 0 or seq < warmup:
            due += gap
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        elif seq == warmup:
            time.sleep(WARMUP_GAP_S)  # let the warm-ups drain before the burst
        header = HEADER.pack(seq, time.time_ns(), size, seq < warmup)
        publisher.put(bodies[expected_byte(seq)], attachment=header)
    if not finished.wait(WAIT_S):
        print(f"bare_zenoh: no `done` within {WAIT_S} s", flush=True)
    watch.undeclare()
    done.undeclare()
    session.close()


def main() -> None:
    role, endpoint, *rest = sys.argv[1:]
    if role == "sub":
        subscribe(endpoint, rest[0], int(rest[1]))
    else:
        size, count, warmup = (int(x) for x in rest[:3])
        publish(endpoint, size, count, warmup, float(rest[3]) / 1000.0)


main()
