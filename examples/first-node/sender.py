"""Sends "hello 0", "hello 1", ... on every timer tick; stops after 5."""

import pyarrow as pa

from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        node.send_output("greeting", pa.array([f"hello {sent}"]))
        sent += 1
        if sent == 5:
            break  # the receiver's input closes when this node exits
