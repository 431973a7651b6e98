"""Sends its restart count on every tick; prints when it starts (pid, restart, time)."""

import os
import time

started = time.time()

import pyarrow as pa  # noqa: E402

from dora import Node  # noqa: E402

node = Node()
print(
    f"flaky: start pid={os.getpid()} restart={node.restart_count()} "
    f"is_restart={node.is_restart()} t={started:.6f}",
    flush=True,
)
for event in node:
    if event["type"] == "INPUT":
        node.send_output("value", pa.array([node.restart_count()]))
print("flaky: stopped", flush=True)
