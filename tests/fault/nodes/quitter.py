"""Sends 7 numbers per incarnation, then fails (the first two incarnations) or ends
cleanly (the third, after the last of 20 numbers). How it fails: ``sys.exit(1)`` (the
default), or ``$QUIT_WITH``: ``os._exit`` or ``raise``."""

import os
import sys

import pyarrow as pa

from dora import Node

PER_RUN = 7
TOTAL = 20

node = Node()
run = node.restart_count()
first = run * PER_RUN
numbers = list(range(first, min(first + PER_RUN, TOTAL)))
print(f"quitter: start restart={run}", flush=True)
for event in node:
    if event["type"] != "INPUT":
        continue
    if not numbers:
        break
    node.send_output("n", pa.array([numbers.pop(0)]))
    if not numbers and run < 2:
        how = os.environ.get("QUIT_WITH", "sys.exit")
        print(f"quitter: {how}(1) restart={run}", flush=True)
        if how == "os._exit":
            os._exit(1)
        if how == "raise":
            raise RuntimeError("quitter fails")
        sys.exit(1)
print(f"quitter: clean end restart={run}", flush=True)
