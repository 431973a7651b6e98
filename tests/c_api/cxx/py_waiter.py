"""Waits for the C++ node's `done` sample, prints it with its params as one JSON line
(`py_waiter: {...}`), and exits, which closes its output `never`. It never sends."""

import json

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT" and event["id"] == "done":
        meta = event["metadata"]
        blob = meta["blob"]
        print(
            "py_waiter: "
            + json.dumps(
                {
                    "type": str(event["value"].type),
                    "data": bytes(event["value"].to_pylist()).decode(),
                    "timed_out": meta["timed_out"],
                    "restarts": meta["restarts"],
                    "blob": list(blob),
                }
            )
        )
        break
