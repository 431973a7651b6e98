"""Prints every number it receives; anything that is not one of the sender's numbers
(a forged message), and every non-input event, is printed too."""

import os

from dora import Node

node = Node()
print(f"receiver: start pid={os.getpid()} restart={node.restart_count}", flush=True)
for event in node:
    kind = event["type"]
    if kind == "INPUT":
        value = event["value"]
        if len(value) == 8 and not event["metadata"].get("forged"):
            n = int.from_bytes(bytes(value.to_pylist()), "little")
            print(f"receiver: got n={n}", flush=True)
        else:
            print(f"receiver: FORGED {value.type} {event['metadata']}", flush=True)
    else:
        print(f"receiver: EVENT {kind} {event.get('id', '')} {event.get('error', '')}", flush=True)
print("receiver: end", flush=True)
