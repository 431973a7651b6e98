"""Checks the numbered stream for gaps; reports restarts and values of the flaky node."""

import time

from dora import Node

node = Node()
last = None
gaps = 0
restarts_seen = set()
for event in node:
    kind = event["type"]
    if kind == "INPUT" and event["id"] == "n":
        for n in event["value"].to_pylist():
            if last is not None and n != last + 1:
                gaps += 1
                print(f"sink: GAP after {last} got {n}", flush=True)
            last = n
    elif kind == "INPUT" and event["id"] == "value":
        restart = event["value"].to_pylist()[0]
        if restart not in restarts_seen:
            restarts_seen.add(restart)
            print(f"sink: value restart={restart} t={time.time():.6f}", flush=True)
    elif kind == "NODE_RESTARTED":
        print(f"sink: NODE_RESTARTED {event['id']} t={time.time():.6f}", flush=True)
    elif kind == "NODE_FAILED":
        info = event["value"]
        print(f"sink: NODE_FAILED {event['id']} inputs={info['affected_input_ids']}", flush=True)
    elif kind == "INPUT_CLOSED":
        print(f"sink: INPUT_CLOSED {event['id']}", flush=True)
print(f"sink: numbers up to {last} gaps={gaps}", flush=True)
