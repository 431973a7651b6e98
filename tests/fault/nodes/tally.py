"""Counts the numbers it receives until it has 20; reports every lifecycle event."""

from dora import Node

node = Node()
seen: set[int] = set()
for event in node:
    kind = event["type"]
    if kind == "INPUT":
        seen.update(event["value"].to_pylist())
        if len(seen) >= 20:
            break
    elif kind in ("INPUT_CLOSED", "NODE_RESTARTED", "NODE_FAILED", "STOP"):
        print(f"tally: {kind} {event.get('id')} count={len(seen)}", flush=True)
print(f"tally: got {len(seen)} numbers {sorted(seen)}", flush=True)
