"""Receives one large int64 array and proves it lies inside a memfd mapping (no copy)."""

import json

import pyarrow.compute as pc

from dora import Node


def mapping_of(address: int) -> str | None:
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return " ".join(fields[5:]) if len(fields) > 5 else ""
    return None


node = Node()
result = {}
for event in node:
    if event["type"] == "INPUT":
        value = event["value"]
        n = len(value)
        address = value.buffers()[1].address
        result = {
            "length": n,
            "type": str(value.type),
            "intact": pc.sum(value).as_py() == n * (n - 1) // 2 and value[n - 1].as_py() == n - 1,
            "mapping": mapping_of(address),
        }
        break
print("RESULT " + json.dumps(result), flush=True)
