"""Sends 0, 1, 2, ... on every timer tick, and stops after 20 values."""

import pyarrow as pa

from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        node.send_output("counter", pa.array([count], type=pa.int64()), {"step": count})
        count += 1
        if count == 20:
            break
print(f"sender: sent {count} values")
