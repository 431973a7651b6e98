"""Sends five byte messages with metadata on `ping`; checks each echo on `back`."""

import pyarrow as pa

from dora import Node

N = 5
node = Node()
for i in range(N):
    meta = {"count": i, "name": "alpha", "ratio": 0.25, "flag": True, "tags": [1, 2, 3]}
    node.send_output("ping", f"ping-{i}".encode(), meta)
got = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    value, meta = event["value"], event["metadata"]
    assert value.type == pa.uint8(), value.type
    i = meta["count"]
    assert bytes(value.to_pylist()) == f"ping-{i}".encode(), value
    assert meta["name"] == "alpha" and meta["ratio"] == 0.25 and meta["flag"] is True, meta
    assert meta["echoed_by"] == "c", meta
    assert i == got, (i, got)
    print(f"pinger: reply {i} ok", flush=True)
    got += 1
    if got == N:
        break
print("pinger: all replies ok", flush=True)
