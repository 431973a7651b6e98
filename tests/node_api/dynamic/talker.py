"""Static side of the dynamic-node tests: numbers out on every tick, replies in."""

import pyarrow as pa

from dora import Node

node = Node()
n = 0
for event in node:
    kind = event["type"]
    if kind == "INPUT" and event["id"] == "tick":
        node.send_output("out", pa.array([n]))
        n += 1
    elif kind == "INPUT" and event["id"] == "reply":
        print(f"talker: reply {event['value'].to_pylist()[0]}", flush=True)
    elif kind in ("INPUT_CLOSED", "NODE_FAILED"):
        print(f"talker: {kind} {event['id']}", flush=True)
print("talker: end", flush=True)
