"""Benchmark source for the idle-cost probe: sends 8 B on ``data`` at ``BENCH_RATE`` Hz
(0: never sends, the chain behind it stays idle) until STOP.

Sends from a thread on an absolute schedule, so the main thread waits for events as any
idle node does.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import make_payload

from dora import Node


def pump(node: Node, rate: float) -> None:
    due, seq = time.monotonic(), 0
    while True:
        due += 1.0 / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        meta = {"seq": seq, "t_send": time.time_ns(), "size": 8, "warm": False}
        node.send_output("data", make_payload(8, seq), meta)
        seq += 1


def main() -> None:
    rate = float(os.environ.get("BENCH_RATE", "0"))
    node = Node()
    if rate > 0:
        threading.Thread(target=pump, args=(node, rate), daemon=True).start()
    for event in node:
        if event["type"] == "STOP":
            break


main()
