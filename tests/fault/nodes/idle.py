"""Waits in next() for an input that never comes: idle, but responsive."""

from dora import Node

node = Node()
print("idle: start", flush=True)
for event in node:
    if event["type"] == "STOP":
        break
print("idle: stopped", flush=True)
