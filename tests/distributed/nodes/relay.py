"""Forwards every input to the output of the same id, with its metadata."""

from dora import Node

node = Node()
forwarded = 0
for event in node:
    if event["type"] == "INPUT":
        metadata = {k: v for k, v in event["metadata"].items() if k != "timestamp"}
        node.send_output(event["id"], event["value"], metadata)
        forwarded += 1
print(f"relay: forwarded {forwarded}", flush=True)
