"""Sends 0..4, one per tick, and says which `dora` it ran with."""

import pyarrow as pa

import dora
from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        node.send_output("numbers", pa.array([sent]))
        sent += 1
        if sent == 5:
            break
print(f"venv-sender: sent {sent} using {dora.__file__}")
