"""dora.payloads: a payload decoded outside a node gives back the array that was sent."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dora._arrow import flat_parts, join_parts
from dora.payloads import array_from_payload


def test_raw_and_empty() -> None:
    assert array_from_payload("empty", b"") is None
    assert array_from_payload("raw", b"\x01\x02").to_pylist() == [1, 2]


def test_buffers_payload_with_its_schema_and_layout() -> None:
    sent = pa.array([1.5, None, 3.0])
    layout, parts, _size = flat_parts(sent)
    payload = join_parts(parts)
    schema = pa.schema([pa.field("value", sent.type)]).serialize().to_pybytes()
    got = array_from_payload("buffers", payload, schema=schema, layout=layout)
    assert got is not None and got.equals(sent)


@pytest.mark.parametrize(("kind", "missing"), [("buffers", "schema"), ("ipc", "schema")])
def test_what_a_kind_needs_is_named_when_missing(kind: str, missing: str) -> None:
    with pytest.raises(ValueError, match=f"without its {missing}"):
        array_from_payload(kind, b"\x00")


def test_unknown_kind() -> None:
    schema = pa.schema([pa.field("value", pa.int8())]).serialize().to_pybytes()
    with pytest.raises(ValueError, match="unknown payload kind `nope`"):
        array_from_payload("nope", b"\x00", schema=schema)
