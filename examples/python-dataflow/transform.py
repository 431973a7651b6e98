"""Squares every number it receives, keeping the metadata."""

import pyarrow.compute as pc

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        node.send_output("squared", pc.multiply(event["value"], event["value"]), event["metadata"])
