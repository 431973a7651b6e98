"""Checks that ``small`` and ``big`` arrive complete and in order (see numbered_source).

SINK_DELAY seconds pass before the node starts (to test the start barrier). Prints
``sink: small=N big=M mixed=K in order`` when every input closed and every message was
right, else ``sink: FAILED ...`` and exits with status 1.
"""

import array
import os
import sys
import time

from mixed import matches, mixed_round

from dora import Node

SMALL = int(os.environ.get("SMALL", "2000"))
BIG = int(os.environ.get("BIG", "20"))
MIXED = int(os.environ.get("MIXED", "10"))
ELEMENTS = 128 * 1024

time.sleep(float(os.environ.get("SINK_DELAY", "0")))  # start late on purpose
node = Node()
small = 0
big = 0
mixed = 0
errors: list[str] = []
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    seq = event["metadata"].get("seq")
    if event["id"] == "small":
        if value.to_pylist() != [small] or seq != small:
            errors.append(f"small #{small}: got {value.to_pylist()[:3]} seq={seq}")
        small += 1
    elif event["id"] == "big":
        expected = array.array("q", range(big * 1_000_000, big * 1_000_000 + ELEMENTS))
        got = value.buffers()[1]
        data = got.to_pybytes()[value.offset * 8 : (value.offset + len(value)) * 8]
        if len(value) != ELEMENTS or data != expected.tobytes() or seq != big:
            errors.append(f"big #{big}: len={len(value)} first={value[0]} seq={seq}")
        big += 1
    elif event["id"] == "mixed":
        expected = mixed_round(mixed // 5)[mixed % 5]
        if not matches(value, expected) or seq != (mixed // 5) * 10 + mixed % 5:
            errors.append(f"mixed #{mixed}: {value.type} {str(value)[:60]} seq={seq}")
        mixed += 1
    if len(errors) > 5:
        break
if small != SMALL or big != BIG or mixed != MIXED * 5:
    errors.append(
        f"expected small={SMALL} big={BIG} mixed={MIXED * 5}, "
        f"got small={small} big={big} mixed={mixed}"
    )
if errors:
    print("sink: FAILED " + "; ".join(errors), flush=True)
    sys.exit(1)
print(f"sink: small={small} big={big} mixed={mixed} in order", flush=True)
