"""Counts up on `out`: 8 bytes (little-endian u64) per tick, readable from C too."""

import os

from dora import Node

node = Node()
print(f"sender: start pid={os.getpid()}", flush=True)
n = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        n += 1
        node.send_output("out", n.to_bytes(8, "little"))
