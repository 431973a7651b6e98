"""The ``mixed`` stream shared by numbered_source and checking_sink: every payload kind.

Round r is five messages: small bytes (inline raw), 100 kB of bytes (raw in shared
memory), a small list array (inline Arrow IPC), a 2000-element list array (an Arrow IPC
stream in shared memory) and a string array with a null (flat buffers, inline).
"""

import pyarrow as pa


def mixed_round(r: int) -> list[object]:
    return [
        f"raw-{r}".encode(),
        bytes((r + k) % 251 for k in range(100_000)),
        pa.array([[r, r + 1], []], pa.list_(pa.int64())),
        pa.array([list(range(r, r + 2000))], pa.list_(pa.int64())),
        pa.array([f"s{r}", None, "x" * r], pa.string()),
    ]


def as_bytes(value: pa.Array) -> bytes:
    """The bytes a UInt8Array (how bytes payloads arrive) holds."""
    return value.buffers()[1].to_pybytes()[value.offset : value.offset + len(value)]


def matches(value: pa.Array, expected: object) -> bool:
    if isinstance(expected, bytes):
        return value.type == pa.uint8() and as_bytes(value) == expected
    return value.equals(expected)
