"""Sends 5 numbers, goes quiet for QUIET seconds, then sends one number per tick."""

import os
import time

import pyarrow as pa

from dora import Node

QUIET = float(os.environ.get("QUIET", "1.0"))
node = Node()
sent = 0
quiet_until = None
for event in node:
    if event["type"] != "INPUT":
        continue
    now = time.time()
    if sent == 5 and quiet_until is None:
        quiet_until = now + QUIET
        print(f"bursty: quiet after {sent - 1} t={now:.6f}", flush=True)
    if quiet_until is not None and now < quiet_until:
        continue
    node.send_output("data", pa.array([sent]))
    if sent == 5:
        print(f"bursty: resumed t={now:.6f}", flush=True)
    sent += 1
