"""Payloads and metadata sent by roundtrip_source.py and checked by roundtrip_sink.py."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa

UTC = dt.UTC


def cases() -> list[tuple[str, object, dict]]:
    """``(name, data, metadata)`` in send order."""
    struct_type = pa.struct([("a", pa.int32()), ("b", pa.string())])
    nested = pa.array(
        [[{"a": 1, "b": "x"}, None], None, [], [{"a": None, "b": "yy"}]],
        type=pa.list_(struct_type),
    )
    big_nested = pa.array([[float(i)] * 10 for i in range(100)])
    return [
        ("int64", pa.array([1, 2, 3]), {"i": 1, "f": 2.5, "s": "x", "b": True}),
        ("nulls", pa.array([1, None, 3], pa.int32()), {"li": [1, 2], "lf": [1.5, 2]}),
        ("sliced", pa.array(range(100)).slice(10, 5), {"ls": ["a", "b"], "empty": []}),
        ("bool_sliced", pa.array([True, None, False, True] * 10).slice(3, 7), {"t": (1, 2)}),
        (
            "strings",
            pa.array(["a", None, "ccc"]),
            {"dt": dt.datetime(2024, 1, 2, 3, 4, 5, 678901, UTC)},
        ),
        ("strings_sliced", pa.array(["x" * i for i in range(20)]).slice(5, 5), {"neg": -(2**62)}),
        ("nested", nested, {"obj": {"a": 1}}),
        ("nested_sliced", nested.slice(1, 3), {"big": 2**70}),
        ("struct", pa.array([{"a": 1, "b": "q"}, None], type=struct_type), {"none": None}),
        ("dictionary", pa.array(["a", "b", "a", None]).dictionary_encode(), {}),
        ("big_nested", big_nested, {"request_id": "r1"}),
        (
            "big_ints_sliced",
            pa.array([i if i % 7 else None for i in range(10000)]).slice(3, 9000),
            {},
        ),
        ("big_strings", pa.array(["s" * i for i in range(200)]), {}),
        ("bytes", b"hello", {"k": "bytes"}),
        ("big_bytes", bytes(range(256)) * 100, {}),
        ("bytearray", bytearray(b"xyz"), {}),
        ("memoryview", memoryview(b"0123456789")[2:6], {}),
        ("empty", pa.array([], pa.int8()), {}),
        ("nulls_type", pa.nulls(5), {}),
        (
            "timestamps",
            pa.array([dt.datetime(2020, 1, 1, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
            {},
        ),
        ("decimal", pa.array([Decimal("1.25"), None], pa.decimal128(10, 2)), {}),
        ("fixed_binary", pa.array([b"ab", b"cd"], pa.binary(2)), {}),
        ("large_string", pa.array(["l", None], pa.large_string()), {}),
        ("chunked", pa.chunked_array([[1, 2], [3]]), {}),
        ("fixed_list", pa.array([[1, 2], [3, 4]], pa.list_(pa.int16(), 2)), {}),
        ("map", pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int64())), {}),
        ("string_view", pa.array(["view", None, "s" * 40], pa.string_view()), {}),
    ]


def expected_value(data: object) -> pa.Array:
    """What the receiver must get for ``data``."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        return pa.array(list(raw), pa.uint8())
    if isinstance(data, pa.ChunkedArray):
        return data.combine_chunks()
    return data


def expected_metadata(metadata: dict) -> dict:
    """What the receiver's metadata must hold besides ``timestamp``."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, list) and value and isinstance(value[0], float):
            value = [float(v) for v in value]
        elif (
            isinstance(value, dict)
            or value is None
            or (isinstance(value, int) and abs(value) >= 2**63)
        ):
            value = str(value)
        out[key] = value
    return out
