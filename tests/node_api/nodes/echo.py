"""A node written exactly like a dora-rs Python node: forwards every input."""

from dora import Node

node = Node()
count = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("out", event["value"], event["metadata"])
        count += 1
    elif event["type"] == "STOP":
        break
print(f"ECHOED {count}", flush=True)
