"""Python source of the C++ tests: on each tick, bytes (UInt8 with params of every scalar
kind) on `bytes` and a float64 array on `floats`; ROUNDS times, then it returns, which
closes both outputs."""

import pyarrow as pa

from dora import Node

ROUNDS = 5

node = Node()
sent = 0
for event in node:
    if event["type"] != "INPUT" or event["id"] != "tick":
        continue
    text = f"hello {sent}".encode()
    node.send_output(
        "bytes",
        pa.array(list(text), type=pa.uint8()),
        {"seq": sent, "label": "hello", "scale": 1.5, "flag": sent % 2 == 0},
    )
    node.send_output("floats", pa.array([float(sent), 2.0, 0.25], type=pa.float64()), {"seq": sent})
    sent += 1
    if sent == ROUNDS:
        break
print(f"py_source: sent {sent} rounds")
