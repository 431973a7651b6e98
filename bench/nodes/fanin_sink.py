"""Benchmark fan-in sink: like receiver.py, for many senders on inputs ``in0``, ``in1``, ...

Every sender numbers its messages from 0, so messages are told apart by (input, seq).
Parameters: BENCH_RESULT (JSON written at the end), BENCH_EXPECT (messages per sender),
BENCH_SENDERS (how many inputs). Once every sender's messages have all arrived, it sends one
ack on output ``done`` (each sender waits for it). Latency is ``time.time_ns()`` on arrival
minus the metadata's ``t_send``, taken before the payload is verified.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyarrow as pa
from common import verify_payload, write_result

from dora import Node

MAX_ERRORS = 10


def main() -> None:
    expect = int(os.environ["BENCH_EXPECT"])
    senders = int(os.environ["BENCH_SENDERS"])
    node = Node()
    seen: set[tuple[str, int]] = set()
    lat_ns: list[int] = []
    errors: list[str] = []
    corrupt = duplicates = received = 0
    open_inputs = senders
    acked = False
    for event in node:
        t_recv = time.time_ns()
        kind = event["type"]
        if kind == "INPUT":
            received += 1
            meta = event["metadata"]
            seq, size = int(meta["seq"]), int(meta["size"])
            if not meta["warm"]:
                lat_ns.append(t_recv - int(meta["t_send"]))
            error = verify_payload(event["value"], size, seq)
            if error is not None:
                corrupt += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(f"{event['id']}: {error}")
            key = (event["id"], seq)
            if key in seen:
                duplicates += 1
            seen.add(key)
            if not acked and len(seen) == expect * senders:
                acked = True
                node.send_output("done", pa.array([expect], type=pa.int64()), {})
        elif kind == "INPUT_CLOSED":
            open_inputs -= 1
            if open_inputs == 0:
                break
        elif kind == "STOP":
            break
    write_result(
        os.environ["BENCH_RESULT"],
        {
            "received": received,
            "unique": len(seen),
            "duplicates": duplicates,
            "corrupt": corrupt,
            "errors": errors,
            "lat_ns": lat_ns,
        },
    )
    print(f"fanin_sink: {received} messages from {senders} senders, {corrupt} corrupt", flush=True)


main()
