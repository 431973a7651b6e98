"""Helpers shared by the benchmark's node scripts: payloads, integrity checks, parameters.

The node scripts run under both systems' interpreters (ours and the peer's venv), so this
module depends on nothing but the standard library and pyarrow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

_COMPARE_LIMIT = 64 * 1024  # payloads up to this size are compared byte by byte


def expected_byte(seq: int) -> int:
    """The byte every payload of message ``seq`` is filled with.

    Never 0, so a zeroed (fresh or cleared) buffer can never pass the check, and it changes
    from one message to the next, so a stale or reused buffer is caught too.
    """
    return seq % 251 + 1


def make_payload(size: int, seq: int) -> pa.Array:
    """A UInt8 array of ``size`` bytes, all equal to ``expected_byte(seq)``."""
    buffer = pa.py_buffer(bytes([expected_byte(seq)]) * size)
    return pa.Array.from_buffers(pa.uint8(), size, [None, buffer])


def verify_payload(value: object, size: int, seq: int) -> str | None:
    """Check a received payload; return ``None`` if intact, else what is wrong with it."""
    # the usual case in few steps: the per-message check must not weigh on either
    # system's burst figures; anything unusual gets the full check
    if (
        size <= _COMPARE_LIMIT
        and type(value) is pa.UInt8Array
        and len(value) == size
        and not value.null_count
        and _small_bytes(value, size) == _pattern(expected_byte(seq), size)
    ):
        return None
    return _diagnose(value, size, seq)


_PATTERNS: dict[tuple[int, int], bytes] = {}  # (fill byte, size) -> the expected bytes


def _pattern(want: int, size: int) -> bytes:
    pattern = _PATTERNS.get((want, size))
    if pattern is None:
        pattern = _PATTERNS[want, size] = bytes((want,)) * size
    return pattern


def _small_bytes(value: pa.Array, size: int) -> bytes | None:
    """The ``size`` bytes of a UInt8 array's data buffer at its offset (None: no buffer)."""
    data = value.buffers()[1]
    return None if data is None else bytes(memoryview(data)[value.offset : value.offset + size])


def _diagnose(value: object, size: int, seq: int) -> str | None:
    """The full check: ``None`` if intact, else what is wrong with the payload."""
    if not isinstance(value, pa.Array):
        return f"seq {seq}: payload is {type(value).__name__}, not a pyarrow array"
    if len(value) != size:
        return f"seq {seq}: length {len(value)} != {size}"
    if size == 0:
        return None
    if not pa.types.is_integer(value.type):
        return f"seq {seq}: type {value.type} is not an integer type"
    if value.null_count:
        return f"seq {seq}: {value.null_count} null values"
    want = expected_byte(seq)
    if size <= _COMPARE_LIMIT and value.type == pa.uint8():
        # small payloads: compare every byte directly, far cheaper than a compute kernel
        got = _small_bytes(value, size)
        if got is None:
            return f"seq {seq}: no data buffer"
        if got != _pattern(want, size):
            return f"seq {seq}: bytes span {min(got)}..{max(got)}, expected all {want}"
        return None
    bounds = pc.min_max(value)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low != want or high != want:
        return f"seq {seq}: bytes span {low}..{high}, expected all {want}"
    return None


def env_ints(name: str) -> list[int]:
    """A comma-separated list of integers from the environment."""
    return [int(part) for part in os.environ[name].split(",") if part.strip()]


def env_floats(name: str) -> list[float]:
    """A comma-separated list of floats from the environment."""
    return [float(part) for part in os.environ[name].split(",") if part.strip()]


def write_result(path: str, result: dict) -> None:
    """Write ``result`` as JSON, atomically, so a half-written file is never read."""
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, target)
