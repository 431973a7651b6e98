"""Reads ``data``; its first ``$FAIL_RUNS`` incarnations fail (an uncaught exception)
after ``$PER_RUN`` messages, ``$LINGER`` seconds after the last one they read (what
arrives meanwhile is left unread). The last one asks the sender to stop (``done``) after
``$PER_RUN`` messages (the first to: ``$ASK_FROM``, default ``$FAIL_RUNS``) and says
how many it got once ``data`` closes. Every incarnation prints what it got:
``forgetful: run=R got=N failing|stopped|closed``."""

import os
import time

import pyarrow as pa

from dora import Node

PER_RUN = int(os.environ.get("PER_RUN", "1000"))
FAIL_RUNS = int(os.environ.get("FAIL_RUNS", "3"))
LINGER = float(os.environ.get("LINGER", "0"))
ASK_FROM = int(os.environ.get("ASK_FROM", str(FAIL_RUNS)))

node = Node()
run = node.restart_count()
got = 0
asked = False
print(f"forgetful: start run={run}", flush=True)
for event in node:
    kind = event["type"]
    if kind == "INPUT" and event["id"] == "data":
        got += 1
        if got < PER_RUN:
            continue
        if run < FAIL_RUNS:
            print(f"forgetful: run={run} got={got} failing", flush=True)
            time.sleep(LINGER)  # busy: its queue fills up, and nobody reads it any more
            raise RuntimeError("forgetful fails on purpose")
        if run >= ASK_FROM and not asked:
            asked = True
            node.send_output("done", pa.array([True]))
    elif kind == "STOP":  # `dora node restart` (or the end): the rest stays unread
        print(f"forgetful: run={run} got={got} stopped", flush=True)
        break
    elif kind == "INPUT_CLOSED" and event["id"] == "data":
        drops = node.drop_counts().get("data", 0)
        print(f"forgetful: run={run} got={got} closed queue_drops={drops}", flush=True)
