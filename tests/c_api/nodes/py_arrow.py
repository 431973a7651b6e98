"""Sends flat Arrow arrays (with nulls, sliced, large) to the C node and checks that
each comes back equal; then a nested array (the C node reports an error naming it) and
a request for a 1 MB allocate-then-fill sample."""

import datetime

import pyarrow as pa

from dora import Node

big = pa.array([None if i % 7 == 0 else i * 0.5 for i in range(100_000)], pa.float64())
ARRAYS = [
    pa.array([1.5, None, -2.25, 3.0], pa.float64()),
    pa.array([1, None, 3, None, 5], pa.int32()),
    pa.array(["alpha", None, "", "gamma δ"], pa.string()),
    pa.array([10, 20, None, 40, 50, 60], pa.int64()).slice(2, 3),
    pa.array(["a", "bb", None, "dddd"], pa.string()).slice(1, 3),
    pa.array([True, None, False, True], pa.bool_()),
    pa.array([b"x", None, b"yz"], pa.binary()),
    pa.array(["L", None], pa.large_string()),
    pa.array([b"abc", None, b"def"], pa.binary(3)),
    pa.array([1, None, 3], pa.uint8()),
    pa.array([datetime.date(2024, 1, 2), None], pa.date32()),
    pa.array([1_000, None, 3_000], pa.timestamp("us")),
    pa.array([1_000, None], pa.timestamp("ns", tz="UTC")),
    pa.array([5, None], pa.duration("ms")),
    pa.array([7, None], pa.time64("ns")),
    pa.nulls(3),
    big,
]

node = Node()
for i, array in enumerate(ARRAYS):
    node.send_output("arrays", array, {"n": i})
node.send_output("nested", pa.array([[1, 2], None, [3]], pa.list_(pa.int64())))
node.send_output("fill", b"")
seen = set()
filled = False
for event in node:
    if event["type"] != "INPUT":
        continue
    if event["id"] == "filled":
        value = event["value"]
        expected = bytes(i % 251 for i in range(1024 * 1024))
        filled = value.type == pa.uint8() and value.buffers()[1].to_pybytes() == expected
        print(f"py_arrow: filled 1 MB intact {filled}", flush=True)
    else:
        n = event["metadata"]["n"]
        value = event["value"]
        ok = value.equals(ARRAYS[n]) and value.type == ARRAYS[n].type
        print(
            f"py_arrow: array {n} {value.type} equal {ok} format {event['metadata']['format']}",
            flush=True,
        )
        seen.add(n)
    if filled and len(seen) == len(ARRAYS):
        break
print("py_arrow: done", flush=True)
