"""Python sink of the C++ tests: records every input (id, Arrow type, values, params) and
prints them as one JSON line, `py_sink: summary {...}`, for the test to check."""

import json

from dora import Node

node = Node()
received: list[dict] = []
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    params = {k: v for k, v in event["metadata"].items() if isinstance(v, bool | int | float | str)}
    received.append(
        {"id": event["id"], "type": str(value.type), "values": value.to_pylist(), "params": params}
    )
print("py_sink: summary " + json.dumps(received))
