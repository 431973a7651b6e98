"""A dynamic node started by hand: ``python joiner.py NAME TAG``. It joins as NAME,
answers three numbers with ``TAG-<n>``, and leaves."""

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
print(f"joiner: leaving after {answered}", flush=True)
