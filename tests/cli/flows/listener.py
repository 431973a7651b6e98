"""Prints a line for the first message and reports how it stopped."""

from dora import Node

node = Node()
seen = 0
for event in node:
    if event["type"] == "INPUT":
        if seen == 0:
            print("listener: first message", flush=True)
        seen += 1
    elif event["type"] == "STOP":
        print(f"listener: stop {event['id']}", flush=True)
print(f"listener: done after {seen}", flush=True)
