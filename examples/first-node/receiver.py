"""Prints every greeting it receives."""

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        print(f"received {event['value'].to_pylist()[0]}")
    elif event["type"] == "STOP":
        break
print("done")
