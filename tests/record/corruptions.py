"""Damaged copies of one small recording, for the reader and ``dora replay`` tests.

Four families, as files get damaged in the wild or on purpose: cut off at many offsets,
one byte flipped (stream headers, message headers, bodies, the values inside them), the
wrong magic at the start, and huge length fields (every message header's metadata length,
and 4- and 8-byte lengths written over every aligned offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from dora_record.format import RUST_MAGIC, Header, RecordingError, RecordingWriter, open_recording

DESCRIPTOR = """\
nodes:
  - id: imu
    path: imu.py
    outputs: [out]
  - id: cam
    path: cam.py
    outputs: [out]
"""
MESSAGES = 6
CONTINUATION = b"\xff\xff\xff\xff"  # starts every Arrow IPC message (then its length)


def write_good(path: Path) -> bytes:
    """Six messages, alternately from ``imu`` and ``cam``; the file's bytes."""
    writer = RecordingWriter(path, Header(0, "df", DESCRIPTOR))
    for i in range(MESSAGES):
        node = "cam" if i % 2 else "imu"
        writer.write(node, "out", i * 1000, 0, {"seq": i}, pa.array([i] * 5, pa.int64()))
    writer.close()
    return path.read_bytes()


def _put(data: bytes, offset: int, chunk: bytes) -> bytes:
    return data[:offset] + chunk + data[offset + len(chunk) :]


def variants(good: bytes) -> dict[str, bytes]:
    """Every damaged copy, by a name that says what was done."""
    found: dict[str, bytes] = {}
    for offset in range(0, len(good), 7):
        found[f"truncated-at-{offset}"] = good[:offset]
    for offset in range(0, len(good), 3):
        flipped = bytes([good[offset] ^ 0xFF])
        found[f"flipped-byte-{offset}"] = _put(good, offset, flipped)
    for label, magic in [
        ("zeros", b"\x00" * 8),
        ("dorarec", RUST_MAGIC),
        ("parquet", b"PAR1PAR1"),
        ("text", b"hello!!!"),
        ("continuation-only", CONTINUATION),
    ]:
        found[f"wrong-magic-{label}"] = (
            magic if label == "continuation-only" else _put(good, 0, magic)
        )
    markers = [i for i in range(len(good)) if good.startswith(CONTINUATION, i)]
    for offset in markers:
        for value in (0x7FFFFFFF, 0x80000000, 0xFFFFFFFE):
            found[f"huge-message-length-{offset}-{value:x}"] = _put(
                good, offset + 4, value.to_bytes(4, "little")
            )
    for offset in range(0, len(good) - 8, 8):
        found[f"huge-u32-at-{offset}"] = _put(good, offset, (0x7FFFFFF0).to_bytes(4, "little"))
        found[f"huge-i64-at-{offset}"] = _put(good, offset, (1 << 62).to_bytes(8, "little"))
    return found


@dataclass
class Outcome:
    """What reading a damaged copy came to (never an exception but RecordingError)."""

    kind: str  # "error", "truncated", "unreadable", "undecodable" or "read"
    readable: int = 0  # entries with a value
    error: str = ""


def read_back(path: Path) -> Outcome:
    """Read ``path`` as ``dora replay`` does: header, topics, every entry."""
    try:
        recording = open_recording(path)
        recording.topics()
        entries = list(recording.entries())
    except RecordingError as err:
        return Outcome("error", error=str(err))
    readable = sum(1 for e in entries if e.error is None and e.value is not None)
    if recording.truncated:
        return Outcome("truncated", readable)
    if recording.unreadable:
        return Outcome("unreadable", readable)
    if any(e.error for e in entries):
        return Outcome("undecodable", readable)
    return Outcome("read", readable)
