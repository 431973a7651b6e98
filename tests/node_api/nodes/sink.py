"""Test node: receives sequence-numbered messages and reports what it saw.

Env: SLEEP (seconds per input), START_DELAY (seconds before the first next()),
MAPS (1: report memfd mappings). Prints ``RESULT <json>`` when the stream ends.
"""

import json
import os
import time

from dora import Node

SLEEP = float(os.environ.get("SLEEP", "0"))
START_DELAY = float(os.environ.get("START_DELAY", "0"))

node = Node()
print("READY", flush=True)
if START_DELAY:
    time.sleep(START_DELAY)
counts: dict[str, int] = {}
last: dict[str, int] = {}
disorder = 0
after_closed = 0
closed: list[str] = []
types: list[list] = []  # run-length encoded event types
seqs: dict[str, list[int]] = {}
for event in node:
    kind = event["type"]
    if types and types[-1][0] == kind:
        types[-1][1] += 1
    else:
        types.append([kind, 1])
    if kind == "INPUT":
        iid = event["id"]
        value = event["value"]
        if value.type.id == 2:  # uint8: raw bytes, the first 8 are the sequence number
            seq = int.from_bytes(
                value.buffers()[1].to_pybytes()[value.offset : value.offset + 8], "little"
            )
        else:
            seq = value[0].as_py()
        assert event["metadata"]["seq"] == seq, (event["metadata"], seq)
        if iid in closed:
            after_closed += 1
        if iid in last and seq != last[iid] + 1:
            disorder += 1
        last[iid] = seq
        counts[iid] = counts.get(iid, 0) + 1
        seqs.setdefault(iid, []).append(seq)
        if SLEEP:
            time.sleep(SLEEP)
    elif kind == "ERROR":
        print("ERROR " + event["error"], flush=True)
    elif kind == "INPUT_CLOSED":
        closed.append(event["id"])
result = {
    "counts": counts,
    "last": last,
    "disorder": disorder,
    "after_closed": after_closed,
    "closed": closed,
    "types": types,
    "drops": node.drop_counts(),
    "seqs": {k: v[:50] for k, v in seqs.items()},
}
if os.environ.get("MAPS") == "1":
    with open("/proc/self/maps") as f:
        result["memfd_maps"] = sum(1 for line in f if "memfd:dora-" in line)
print("RESULT " + json.dumps(result), flush=True)
node.close()
