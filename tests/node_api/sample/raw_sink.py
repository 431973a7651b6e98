"""Prints what arrives: metadata ``n``, length and first bytes."""

from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        data = bytes(event["value"].to_pylist())
        print(f"sink: n={event['metadata'].get('n')} len={len(data)} head={data[:5]!r}", flush=True)
