"""Sends one number per tick (1 kHz in the tests) on ``data`` and counts what it sent,
until ``done`` arrives; then closes ``data``, says how many it sent, and idles."""

import pyarrow as pa

from dora import Node

node = Node()
sent = 0
sending = True
for event in node:
    if event["type"] != "INPUT":
        continue
    if event["id"] == "tick" and sending:
        node.send_output("data", pa.array([sent], type=pa.uint64()))
        sent += 1
    elif event["id"] == "done" and sending:
        sending = False
        node.close_outputs(["data"])
        print(f"pacer: sent={sent}", flush=True)
