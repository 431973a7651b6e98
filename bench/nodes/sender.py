"""Benchmark sender: sends UInt8 payloads of the configured sizes, paced or as a burst.

Parameters (environment, set by the dataflow's ``env:``):
  BENCH_SIZES         comma list of payload sizes in bytes, sent one size after the other
  BENCH_COUNTS        measured messages per size (same length as BENCH_SIZES)
  BENCH_WARMUPS       warm-up messages per size, sent first and marked ``warm``
  BENCH_INTERVALS_MS  gap between messages per size; 0 sends the size as an unpaced burst
  BENCH_ACKS          comma list of input ids on which receivers acknowledge; the sender
                      exits once every one of them has sent its ack (or closed)
  BENCH_ACK_TIMEOUT_S how long to wait for the acks after the last send

With BENCH_RESULT set, it writes JSON at the end: its process CPU time (all threads) and
wall clock just before the first unpaced send of a burst and once every receiver has
acknowledged, so CPU per message can be measured over the burst alone.

Every message carries metadata ``seq`` (increasing over the whole run), ``t_send``
(time.time_ns() just before ``send_output``), ``size`` and ``warm``. The payload of message
``seq`` is filled with ``expected_byte(seq)`` so receivers can verify it.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import env_floats, env_ints, expected_byte, make_payload, write_result

from dora import Node

OUTPUT = "data"
BURST_WARMUP_GAP_S = 0.05
MARKS: dict = {"acked": False}  # CPU and wall clock at the start of a burst and at the end


def mark(name: str) -> None:
    MARKS[f"cpu_{name}_s"] = time.process_time()
    MARKS[f"t_{name}_ns"] = time.time_ns()


def paced(node, size: int, first_seq: int, total: int, warmup: int, interval_s: float) -> None:
    """Send ``total`` messages ``interval_s`` apart on an absolute schedule (no drift)."""
    due = time.monotonic()
    for i in range(total):
        seq = first_seq + i
        payload = make_payload(size, seq)  # built before the clock starts
        due += interval_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        meta = {"seq": seq, "t_send": time.time_ns(), "size": size, "warm": i < warmup}
        node.send_output(OUTPUT, payload, meta)


def burst(node, size: int, first_seq: int, total: int, warmup: int) -> None:
    """Send ``warmup`` paced messages, then the rest back to back.

    The warm-up runs any first-message set-up (connections, shared-memory pools) before
    the timed part; the burst payloads are built before its first send.
    """
    paced(node, size, first_seq, warmup, warmup, BURST_WARMUP_GAP_S)
    if warmup:
        time.sleep(BURST_WARMUP_GAP_S)  # let the warm-up drain before the clock starts
    cache = {}  # one array per distinct fill byte: at most 251 of them
    seqs = range(first_seq + warmup, first_seq + total)
    for seq in seqs:
        if expected_byte(seq) not in cache:
            cache[expected_byte(seq)] = make_payload(size, seq)
    payloads = [cache[expected_byte(seq)] for seq in seqs]
    if "cpu_burst_s" not in MARKS:
        mark("burst")
    for seq, payload in zip(seqs, payloads, strict=True):
        meta = {"seq": seq, "t_send": time.time_ns(), "size": size, "warm": False}
        node.send_output(OUTPUT, payload, meta)


def give_up(timeout_s: float) -> None:
    """Leave without the acks: a receiver is missing messages, and its result will say so."""
    print(f"sender: no ack within {timeout_s} s, exiting", flush=True)
    save_marks()
    os._exit(0)


def save_marks() -> None:
    path = os.environ.get("BENCH_RESULT")
    if path:
        write_result(path, MARKS)


def wait_for_acks(node) -> bool:
    """Stay alive until every receiver has acknowledged receiving everything.

    Exiting right after the last send_output can lose messages still in flight (dora-rs
    1.1.0 does), which would measure shutdown rather than transport. If a message was lost
    the ack never comes; a watchdog then ends the process after BENCH_ACK_TIMEOUT_S (the
    node API has no common way to wait for an event with a timeout). True once all came.
    """
    waiting = {name for name in os.environ.get("BENCH_ACKS", "").split(",") if name}
    if not waiting:
        return False
    timeout_s = float(os.environ.get("BENCH_ACK_TIMEOUT_S", "5"))
    watchdog = threading.Timer(timeout_s, give_up, args=(timeout_s,))
    watchdog.daemon = True
    watchdog.start()
    for event in node:
        if event["type"] in ("INPUT", "INPUT_CLOSED"):
            waiting.discard(event["id"])
        elif event["type"] == "STOP":
            break
        if not waiting:
            break
    watchdog.cancel()
    return not waiting


def main() -> None:
    sizes = env_ints("BENCH_SIZES")
    counts = env_ints("BENCH_COUNTS")
    warmups = env_ints("BENCH_WARMUPS")
    intervals = env_floats("BENCH_INTERVALS_MS")
    node = Node()
    seq = 0
    for size, count, warmup, interval_ms in zip(sizes, counts, warmups, intervals, strict=True):
        total = warmup + count
        if interval_ms > 0:
            paced(node, size, seq, total, warmup, interval_ms / 1000.0)
        else:
            burst(node, size, seq, total, warmup)
        seq += total
    print(f"sender: sent {seq} messages", flush=True)
    MARKS["acked"] = wait_for_acks(node)
    mark("acked")
    save_marks()


main()
