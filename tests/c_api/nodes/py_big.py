"""Sends three 16 MB byte messages to the C node and checks its answers: intact, and
read in place from a memfd mapping (not copied)."""

import pyarrow as pa

from dora import Node

SIZE = 16 * 1024 * 1024
ROUNDS = 3


def pattern(mul: int, seq: int) -> bytes:
    return bytes((i * mul + seq) & 0xFF for i in range(256)) * (SIZE // 256)


def memfd_ranges() -> list[tuple[int, int]]:
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "/memfd:" in line:
                lo, hi = line.split()[0].split("-")
                ranges.append((int(lo, 16), int(hi, 16)))
    return ranges


def in_memfd(address: int) -> bool:
    return any(lo <= address < hi for lo, hi in memfd_ranges())


node = Node()
seq = 0
node.send_output("big", pattern(7, seq))
answers = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    assert value.type == pa.uint8() and len(value) == SIZE, (value.type, len(value))
    buf = value.buffers()[1]
    mul = 3 if event["id"] == "back" else 5
    intact = buf.to_pybytes() == pattern(mul, seq)
    print(
        f"py_big: {event['id']} {seq} intact {intact} zero-copy {in_memfd(buf.address)}", flush=True
    )
    answers += 1
    if answers % 2 == 0:
        seq += 1
        if seq == ROUNDS:
            break
        node.send_output("big", pattern(7, seq))
print("py_big: done", flush=True)
