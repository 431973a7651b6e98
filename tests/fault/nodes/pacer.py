"""Sends one number per tick (1 kHz in the tests) on ``data`` and counts what it sent,
until ``done`` arrives; then closes ``data``, says how many it sent, and idles. Prints
the restarts and closings of its inputs (``pacer: NODE_RESTARTED forgetful``)."""

import pyarrow as pa

from dora import Node

node = Node()
sent = 0
sending = True
for event in node:
    if event["type"] in ("NODE_RESTARTED", "INPUT_CLOSED"):
        print(f"pacer: {event['type']} {event['id']}", flush=True)
    if event["type"] != "INPUT":
        continue
    if event["id"] == "tick" and sending:
        node.send_output("data", pa.array([sent], type=pa.uint64()))
        sent += 1
    elif event["id"] == "done" and sending:
        sending = False
        node.close_outputs(["data"])
        print(f"pacer: sent={sent}", flush=True)
