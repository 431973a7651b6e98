"""A dynamic node started by hand: ``python joiner.py NAME TAG [HOLD_FILE]``. It joins as
NAME, answers three numbers with ``TAG-<n>``, and leaves (with HOLD_FILE: once that file
exists)."""

import os
import sys

import pyarrow as pa

from dora import Node

name, tag = sys.argv[1], sys.argv[2]
node = Node(name)
print(f"joiner: joined as {node.node_id()} dataflow={node.dataflow_id()}", flush=True)
answered = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "msg":
        value = event["value"].to_pylist()[0]
        print(f"joiner: got {value}", flush=True)
        node.send_output("reply", pa.array([f"{tag}-{value}"]))
        answered += 1
        if answered == 3:
            break
if len(sys.argv) > 3:
    print("joiner: holding", flush=True)
    while not os.path.exists(sys.argv[3]):
        node.next(timeout=0.05)  # stay connected, reading what comes
print(f"joiner: leaving after {answered}", flush=True)
