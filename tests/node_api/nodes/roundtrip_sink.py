"""Checks every case of cases.py; prints ``RESULT <json>`` with the mismatches."""

import datetime as dt
import json

from cases import cases, expected_metadata, expected_value

from dora import Node

node = Node()
expected = cases()
got = []
for event in node:
    if event["type"] == "INPUT":
        got.append(event)
problems = []
if len(got) != len(expected):
    problems.append(f"got {len(got)} inputs, expected {len(expected)}")
for (name, data, metadata), event in zip(expected, got, strict=False):
    value = event["value"]
    want = expected_value(data)
    if not value.equals(want):
        problems.append(
            f"{name}: value {value.to_pylist()} ({value.type}) != {want.to_pylist()} ({want.type})"
        )
    meta = dict(event["metadata"])
    stamp = meta.pop("timestamp")
    if not (isinstance(stamp, dt.datetime) and stamp.tzinfo is not None):
        problems.append(f"{name}: bad timestamp {stamp!r}")
    if meta != expected_metadata(metadata):
        problems.append(f"{name}: metadata {meta!r} != {expected_metadata(metadata)!r}")
    try:
        value.validate(full=True)
    except Exception as err:
        problems.append(f"{name}: invalid array: {err}")
print("RESULT " + json.dumps({"count": len(got), "problems": problems}), flush=True)
