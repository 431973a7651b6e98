"""The sender's per-output type cache: a type compared by id only where its id is all of it.

Every array has its own type object, so the sender recognises the output's usual type by
id (``TypeInfo.plain_id``) for types without parameters; a type with parameters
(timestamp unit, decimal scale, ...) still goes through ``DataType.equals``. These tests
send changing types on one output between two real nodes and check what arrives.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from dora import Node
from dora._arrow import TypeInfo

SAMPLE_TYPES = [
    pa.null(),
    pa.bool_(),
    pa.int8(),
    pa.uint8(),
    pa.int64(),
    pa.float16(),
    pa.float64(),
    pa.string(),
    pa.large_binary(),
    pa.date32(),
    pa.date64(),
    pa.timestamp("s"),
    pa.timestamp("ms"),
    pa.timestamp("ms", tz="UTC"),
    pa.time32("s"),
    pa.time64("ns"),
    pa.duration("us"),
    pa.decimal128(5, 1),
    pa.decimal128(6, 2),
    pa.binary(3),
    pa.binary(4),
    pa.list_(pa.int8()),
    pa.list_(pa.int16()),
    pa.dictionary(pa.int8(), pa.string()),
]


def test_types_with_a_plain_id_are_equal_whenever_their_ids_are():
    infos = [TypeInfo(t) for t in SAMPLE_TYPES]
    assert any(info.plain_id >= 0 for info in infos)
    for a in infos:
        for b in infos:
            if a.plain_id >= 0 and a.plain_id == b.type.id:
                assert a.type.equals(b.type), (a.type, b.type)
    assert TypeInfo(pa.timestamp("s")).plain_id == -1
    assert TypeInfo(pa.uint8()).plain_id == pa.uint8().id


def _value(rx: Node) -> Any:
    event = rx.next(timeout=10)
    assert event is not None and event["type"] == "INPUT", event
    return event["value"]


@pytest.mark.parametrize(
    "arrays",
    [
        # same width, another plain type: the id differs
        [pa.array([1, 2], pa.uint8()), pa.array([-1, 2], pa.int8()), pa.array([3], pa.uint8())],
        # same id, other parameters
        [
            pa.array([dt.datetime(2020, 1, 1)], pa.timestamp("s")),
            pa.array([dt.datetime(2020, 1, 1)], pa.timestamp("ms")),
            pa.array([dt.datetime(2020, 1, 1)], pa.timestamp("ms", tz="UTC")),
        ],
        [
            pa.array([Decimal("1.5")], pa.decimal128(5, 1)),
            pa.array([Decimal("1.5")], pa.decimal128(6, 2)),
        ],
        [pa.array([b"abc"], pa.binary(3)), pa.array([b"abcd"], pa.binary(4))],
    ],
    ids=["plain", "timestamp", "decimal", "fixed-size-binary"],
)
def test_each_message_arrives_with_its_own_type(
    node_pair: tuple[Node, Node], arrays: list[pa.Array]
):
    rx, tx = node_pair
    for _ in range(2):  # the second round finds every type cached once already
        for array in arrays:
            # a fresh array (and type object) per message, as a node sends them
            tx.send_output("out", pa.array(array.to_pylist(), array.type))
            got = _value(rx)
            assert got.type == array.type and got.equals(array), (got, array)
