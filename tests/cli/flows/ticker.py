"""Sends a counter on every tick, forever (until stopped)."""

import pyarrow as pa

from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("count", pa.array([count]))
        if count == 0:
            print("ticker: first send", flush=True)
        count += 1
print("ticker: stopped", flush=True)
