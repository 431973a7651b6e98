"""Prints every data, INPUT_CLOSED and INPUT_RECOVERED event with its time."""

import time

from dora import Node

node = Node()
for event in node:
    kind = event["type"]
    now = time.time()
    if kind == "INPUT":
        value = event["value"].to_pylist()[0]
        print(f"watcher: INPUT {event['id']} {value} t={now:.6f}", flush=True)
    elif kind in ("INPUT_CLOSED", "INPUT_RECOVERED"):
        print(f"watcher: {kind} {event['id']} t={now:.6f}", flush=True)
    elif kind == "STOP":
        print(f"watcher: STOP {event['id']}", flush=True)
