"""Sends 0, 1, 2, ... one number per tick, until stopped."""

import pyarrow as pa

from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("n", pa.array([count]))
        count += 1
print(f"counter: sent {count}", flush=True)
