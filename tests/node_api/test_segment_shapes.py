"""Arrays sent through shared memory come back with the same values and buffers.

The receiver rebuilds the usual shape (one data buffer filling the message, no validity
bitmap) straight over the mapping, and any other flat shape from a slice per buffer; these
cases cover both, between two real nodes (payloads above the zero-copy threshold).
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from dora import Node

SHAPES = {
    "uint8": pa.array([i % 251 for i in range(65536)], pa.uint8()),
    "uint8-odd-size": pa.array([i % 251 for i in range(65533)], pa.uint8()),
    "int32-sliced": pa.array(list(range(20_000)), pa.int32()).slice(3, 10_000),
    "int64-nulls": pa.array([None if i % 7 == 0 else i for i in range(10_000)], pa.int64()),
    "float64": pa.array([i / 3 for i in range(10_000)], pa.float64()),
    "string": pa.array([str(i) for i in range(10_000)], pa.string()),
}


@pytest.mark.parametrize("array", SHAPES.values(), ids=SHAPES.keys())
def test_segment_payload_round_trips(node_pair: tuple[Node, Node], array: pa.Array):
    rx, tx = node_pair
    for _ in range(2):  # the second message reuses the mapped segment
        tx.send_output("out", array, {"n": len(array)})
        event = rx.next(timeout=10)
        assert event is not None and event["type"] == "INPUT", event
        value = event["value"]
        value.validate(full=True)
        assert value.type == array.type and value.equals(array)
        assert value.null_count == array.null_count
        assert event["metadata"]["n"] == len(array)
        del value, event  # the receiver releases the message
