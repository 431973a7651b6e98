"""Prints every input it gets: type, values and metadata."""

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        meta = {k: v for k, v in event["metadata"].items() if k != "timestamp"}
        print(
            f"collect: {event['id']} {event['value'].type} {event['value'].to_pylist()} {meta}",
            flush=True,
        )
    elif event["type"] == "STOP":
        print(f"collect: stop {event['id']}", flush=True)
print("collect: done", flush=True)
