"""Checks c_edges.c's messages against the same table (keep the two in step)."""

from dora import Node

COUNT = 60
INTS = [
    0,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2**32 - 1,
    2**32,
    2**63 - 1,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2**31),
    -(2**31) - 1,
    -(2**63),
]
STR_LENS = [0, 31, 32, 255, 256, 70000]
KEY_LENS = [2, 31, 32, 40]
COUNTS = [0, 8, 9, 20]
PAYLOADS = [0, 1, 255, 256, 300]


def expected(k: int) -> tuple[list[int], dict[str, object]]:
    params: dict[str, object] = {}
    for j in range(COUNTS[k % 4]):
        m = k + j
        key = f"{j:02d}".ljust(KEY_LENS[m % 4], "x")
        n = STR_LENS[m % 6]
        params[key] = [
            INTS[m % len(INTS)],
            m * 0.5 - 3,
            m % 2 == 1,
            chr(ord("a") + m % 26) * n,
            bytes([m % 256]) * n,
        ][m % 5]
    return [k & 0xFF] * PAYLOADS[k % 5], params


node = Node()
seen = 0
bad = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    payload, params = expected(seen)
    meta = {k: v for k, v in event["metadata"].items() if k != "timestamp"}
    if event["value"].to_pylist() != payload or meta != params:
        bad += 1
        print(f"edges: message {seen} differs: {sorted(meta)} vs {sorted(params)}", flush=True)
    seen += 1
print(f"edges: {seen} messages, {bad} bad", flush=True)
