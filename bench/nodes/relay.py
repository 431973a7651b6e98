"""Benchmark relay: forwards every message on input ``data`` to output ``data`` unchanged.

The links of the scale chain (source -> relays -> sink): value and metadata (``seq``,
``t_send``, ``size``, ``warm``) go on as they came, so the sink measures end-to-end latency
from the source's send time. It ends when its input closes or on STOP.

With ``BENCH_RESULT`` and ``BENCH_EXPECT`` (the messages the source sends) set, it writes
its process CPU time (all threads) just after forwarding the first measured (not warm-up)
message and the ``BENCH_EXPECT``-th one, and how many it had forwarded at each: what a
node costs per message in steady state, idle threads included. Written as soon as that
message went on (a relay killed later still has its figure) and again on exit if it never
came.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import write_result

from dora import Node


def main() -> None:
    result_path = os.environ.get("BENCH_RESULT")
    expect = int(os.environ.get("BENCH_EXPECT", "0"))
    node = Node()
    forwarded = first_at = 0
    cpu_first = None
    written = False
    for event in node:
        kind = event["type"]
        if kind == "INPUT":
            node.send_output("data", event["value"], event["metadata"])
            forwarded += 1
            if cpu_first is None and not event["metadata"].get("warm"):
                cpu_first, first_at = time.process_time(), forwarded
            if forwarded == expect and result_path:
                cpu_last = time.process_time()
                write_result(result_path, _result(forwarded, first_at, cpu_first, cpu_last))
                written = True
        elif kind in ("STOP", "INPUT_CLOSED"):
            break
    if result_path and not written:
        write_result(result_path, _result(forwarded, first_at, cpu_first, None))


def _result(forwarded: int, first_at: int, cpu_first: float | None, cpu_last: float | None) -> dict:
    return {
        "forwarded": forwarded,
        "cpu_first_at": first_at,  # forwarded messages when cpu_first_s was taken
        "cpu_first_s": cpu_first,
        "cpu_last_s": cpu_last,
    }


main()
