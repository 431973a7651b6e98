"""Benchmark receiver: timestamps, verifies and counts every message on input ``data``.

Parameters (environment): BENCH_RESULT, the path of the JSON file written at the end;
BENCH_EXPECT, the number of messages the sender sends: once that many distinct messages
have arrived, the receiver sends one ack on output ``done`` (the sender waits for it).

The receive time (time.time_ns()) is taken first, before anything else touches the event;
the payload is verified after that, so verification never inflates a latency. It stops on
STOP or when its only input closes, then writes per-size latencies, counts, first/last
receive times, reorderings and corruptions.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyarrow as pa
from common import verify_payload, write_result

from dora import Node

MAX_ERRORS = 10  # keep the first few error texts; the count covers all of them


def ranges(seqs: set[int]) -> list[list[int]]:
    """Contiguous runs ``[first, last]`` of received sequence numbers (shows what is lost)."""
    out: list[list[int]] = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def main() -> None:
    result_path = os.environ["BENCH_RESULT"]
    expect = int(os.environ.get("BENCH_EXPECT", "0"))
    node = Node()
    per_size: dict[int, dict] = {}
    seen: set[int] = set()
    errors: list[str] = []
    corrupt = reordered = duplicates = received = 0
    max_seq = -1
    first_recv_ns = None
    cpu_first = cpu_done = None  # process CPU time at the first message and at the last
    end = "stream ended"
    for event in node:
        t_recv = time.time_ns()
        kind = event["type"]
        if kind == "INPUT":
            received += 1
            if first_recv_ns is None:
                first_recv_ns = t_recv
                cpu_first = time.process_time()
            meta = event["metadata"]
            seq, size = int(meta["seq"]), int(meta["size"])
            error = verify_payload(event["value"], size, seq)
            if error is not None:
                corrupt += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(error)
            if seq in seen:
                duplicates += 1
            seen.add(seq)
            if len(seen) == expect:
                cpu_done = time.process_time()
                node.send_output("done", pa.array([expect], type=pa.int64()), {})
            if seq <= max_seq:
                reordered += 1
            max_seq = max(max_seq, seq)
            stats = per_size.get(size)
            if stats is None:
                stats = per_size[size] = {
                    "received": 0,
                    "warm": 0,
                    "lat_ns": [],
                    "first_send_ns": None,
                    "first_recv_ns": None,
                    "last_recv_ns": None,
                }
            if meta["warm"]:
                stats["warm"] += 1
                continue
            t_send = int(meta["t_send"])
            stats["received"] += 1
            stats["lat_ns"].append(t_recv - t_send)
            # min/max rather than first/last: a reordered message must not shorten the span
            if stats["first_send_ns"] is None or t_send < stats["first_send_ns"]:
                stats["first_send_ns"] = t_send
            if stats["first_recv_ns"] is None:
                stats["first_recv_ns"] = t_recv
            stats["last_recv_ns"] = t_recv
        elif kind == "STOP":
            end = "STOP"
            break
        elif kind == "INPUT_CLOSED":
            end = "INPUT_CLOSED"
            break
        elif kind == "ERROR":
            errors.append(f"error event: {event.get('error')}")
    write_result(
        result_path,
        {
            "received": received,
            "unique": len(seen),
            "duplicates": duplicates,
            "reordered": reordered,
            "corrupt": corrupt,
            "errors": errors,
            "first_recv_ns": first_recv_ns,
            "cpu_first_s": cpu_first,
            "cpu_done_s": cpu_done,
            "seq_ranges": ranges(seen)[:50],
            "end": end,
            "sizes": {str(size): stats for size, stats in per_size.items()},
        },
    )
    print(f"receiver: {received} messages, {corrupt} corrupt, end: {end}", flush=True)


main()
