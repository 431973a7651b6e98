"""Sends one int64 array of ELEMENTS values 0..n-1 on ``out`` (16 MB by default)."""

import os

import pyarrow as pa

from dora import Node

node = Node()
node.send_output(
    "out", pa.array(range(int(os.environ.get("ELEMENTS", str(2 * 1024 * 1024)))), pa.int64())
)
for event in node:  # stay until told to stop, so the receiver can map our segment
    if event["type"] == "STOP":
        break
