"""Benchmark node: sends COUNT messages of SIZE bytes every INTERVAL s (0 = burst).

The send time (ns) travels in metadata ``t``; the payload is a uint8 pyarrow array.
"""

import os
import time

import pyarrow as pa

from dora import Node

COUNT = int(os.environ["COUNT"])
SIZE = int(os.environ["SIZE"])
INTERVAL = float(os.environ.get("INTERVAL", "0"))
FRESH = os.environ.get("FRESH") == "1"
node = Node()
payload = pa.Array.from_buffers(
    pa.uint8(), SIZE, [None, pa.py_buffer(bytes(range(256)) * (SIZE // 256) + bytes(SIZE % 256))]
)
if INTERVAL:
    next_t = time.perf_counter()
    for _ in range(COUNT):
        next_t += INTERVAL
        delay = next_t - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if FRESH:  # a new array per message, built before the clock starts
            payload = pa.Array.from_buffers(pa.uint8(), SIZE, [None, pa.py_buffer(bytes(SIZE))])
        node.send_output("out", payload, {"t": time.time_ns()})
else:
    for _ in range(COUNT):
        node.send_output("out", payload, {"t": time.time_ns()})
node.close()
