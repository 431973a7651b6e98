"""The recording file: one Arrow IPC stream, one row per recorded message.

A recording is readable by anything that reads Arrow streams (pyarrow, polars, duckdb), and
a recording cut off by a crash reads up to its last complete message: the stream format has
no footer to lose. The stream's schema carries the header in its metadata:

* ``dora.recording.version``: this format's version (``FORMAT_VERSION``);
* ``dora.recording.start_ns``: wall clock (Unix ns) when recording started;
* ``dora.recording.dataflow_id``: the recorded run's dataflow id;
* ``dora.recording.descriptor``: the original dataflow YAML, as read from disk.

Columns: ``node_id`` and ``output_id`` (the producer, output in public form),
``offset_ns`` (receive time at the recorder minus ``start_ns``), ``timestamp_ns`` (the
sender's metadata timestamp), ``parameters`` (the message's metadata parameters, msgpack)
and ``value`` (the array as an Arrow IPC stream of one column named ``value``).

dora-rs writes a different container (``DORAREC`` magic, postcard payloads); such files
are recognised and refused with a clear message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

FORMAT_VERSION = 1
EXTENSION = ".adorec"
EXTENSIONS = (".adorec", ".drec")  # the seed's spelling, then mainline's
RUST_MAGIC = b"DORAREC\0"

_KEY_VERSION = b"dora.recording.version"
_KEY_START = b"dora.recording.start_ns"
_KEY_DATAFLOW = b"dora.recording.dataflow_id"
_KEY_DESCRIPTOR = b"dora.recording.descriptor"

COLUMNS = pa.schema(
    [
        pa.field("node_id", pa.string(), nullable=False),
        pa.field("output_id", pa.string(), nullable=False),
        pa.field("offset_ns", pa.uint64(), nullable=False),
        pa.field("timestamp_ns", pa.uint64(), nullable=False),
        pa.field("parameters", pa.binary(), nullable=False),
        pa.field("value", pa.binary(), nullable=False),
    ]
)

_encode_parameters = msgspec.msgpack.Encoder().encode
_decode_parameters = msgspec.msgpack.Decoder(dict[str, Any]).decode


class RecordingError(Exception):
    """A recording file that cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class Header:
    """What a recording says about itself."""

    start_ns: int
    dataflow_id: str
    descriptor: str
    version: int = FORMAT_VERSION


@dataclass(frozen=True)
class Entry:
    """One recorded message."""

    node_id: str
    output_id: str
    offset_ns: int
    timestamp_ns: int
    parameters: dict[str, Any] = field(default_factory=dict)
    value: pa.Array | None = None
    error: str | None = None  # why the message did not decode (then ``value`` is None)

    @property
    def topic(self) -> str:
        """``node/output``."""
        return f"{self.node_id}/{self.output_id}"


def encode_value(value: pa.Array) -> bytes:
    """An array as a self-describing Arrow IPC stream (schema + one batch)."""
    batch = pa.record_batch([value], names=["value"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode_value(data: bytes) -> pa.Array:
    """The array of :func:`encode_value`'s bytes."""
    batch = pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()
    if batch.num_columns != 1:
        raise ValueError(f"a recorded value has {batch.num_columns} columns, expected 1")
    return batch.column(0)


class RecordingWriter:
    """Appends messages to a new recording file.

    Writes are buffered; :meth:`flush` hands them to the OS (the recorder calls it now and
    then, so a killed recorder loses little) and :meth:`close` ends the stream.
    """

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = Path(path)
        metadata = {
            _KEY_VERSION: str(header.version).encode(),
            _KEY_START: str(header.start_ns).encode(),
            _KEY_DATAFLOW: header.dataflow_id.encode(),
            _KEY_DESCRIPTOR: header.descriptor.encode(),
        }
        try:
            self._file = pa.OSFile(str(self.path), "wb")
        except OSError as err:
            raise RecordingError(f"cannot create recording `{self.path}`: {err}") from None
        self._sink = pa.BufferedOutputStream(self._file, 1 << 20)
        self._writer = pa.ipc.new_stream(self._sink, COLUMNS.with_metadata(metadata))
        self.messages = 0
        self.bytes = 0

    def write(
        self,
        node_id: str,
        output_id: str,
        offset_ns: int,
        timestamp_ns: int,
        parameters: dict[str, Any],
        value: pa.Array,
    ) -> None:
        """Append one message."""
        data = encode_value(value)
        params = _encode_parameters(parameters)
        batch = pa.record_batch(
            [
                pa.array([node_id], pa.string()),
                pa.array([output_id], pa.string()),
                pa.array([max(offset_ns, 0)], pa.uint64()),
                pa.array([max(timestamp_ns, 0)], pa.uint64()),
                pa.array([params], pa.binary()),
                pa.array([data], pa.binary()),
            ],
            schema=COLUMNS,
        )
        self._writer.write_batch(batch)
        self.messages += 1
        self.bytes += len(data) + len(params)

    def flush(self) -> None:
        """Hand what is buffered to the OS."""
        self._sink.flush()

    def close(self) -> None:
        """End the stream and close the file (idempotent)."""
        if self._file.closed:
            return
        try:
            self._writer.close()
            self._sink.close()
        finally:
            if not self._file.closed:
                self._file.close()


class Recording:
    """A recording opened for reading: its :attr:`header`, then its entries in order."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.header = self._read_header()
        self.truncated = False  # set when iteration met a message cut off by a crash

    def _error(self, what: str) -> RecordingError:
        return RecordingError(f"`{self.path}`: {what}")

    def _open_stream(self) -> pa.ipc.RecordBatchStreamReader:
        try:
            source = pa.memory_map(str(self.path))
        except FileNotFoundError:
            raise RecordingError(f"recording `{self.path}` not found") from None
        except OSError as err:
            raise RecordingError(f"cannot read recording `{self.path}`: {err}") from None
        if source.size() >= len(RUST_MAGIC) and source.read_at(len(RUST_MAGIC), 0) == RUST_MAGIC:
            raise self._error(
                "a dora-rs recording (DORAREC container with postcard payloads); this "
                "implementation reads only its own Arrow-based recordings: record again "
                "with this `dora record`"
            )
        try:
            return pa.ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError) as err:
            raise self._error(f"not a dora recording (not an Arrow IPC stream: {err})") from None

    def _read_header(self) -> Header:
        schema = self._open_stream().schema
        meta = schema.metadata or {}
        if _KEY_VERSION not in meta:
            raise self._error("not a dora recording (an Arrow stream without its header)")
        try:
            version = int(meta[_KEY_VERSION])
        except ValueError:
            raise self._error(f"bad format version {meta[_KEY_VERSION]!r}") from None
        if version > FORMAT_VERSION or version < 1:
            raise self._error(
                f"unsupported recording format version {version} "
                f"(this dora reads version {FORMAT_VERSION})"
            )
        missing = [c for c in COLUMNS.names if c not in schema.names]
        if missing:
            raise self._error(f"not a dora recording (no column {', '.join(missing)})")
        try:
            return Header(
                start_ns=int(meta.get(_KEY_START, b"0")),
                dataflow_id=meta.get(_KEY_DATAFLOW, b"").decode(),
                descriptor=meta.get(_KEY_DESCRIPTOR, b"").decode(),
                version=version,
            )
        except (ValueError, UnicodeDecodeError) as err:
            raise self._error(f"bad header: {err}") from None

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The stream's record batches in order, stopping quietly at a cut-off end."""
        reader = self._open_stream()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError):
                self.truncated = True  # a message cut off by a crash: the rest is lost
                return
            yield batch if columns is None else batch.select(columns)

    def topics(self) -> dict[tuple[str, str], int]:
        """How many messages each ``(node, output)`` has, in first-seen order."""
        counts: dict[tuple[str, str], int] = {}
        for batch in self.batches(["node_id", "output_id"]):
            for node_id, output_id in zip(
                batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
            ):
                key = (node_id, output_id)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def entries(self, node_id: str | None = None) -> Iterator[Entry]:
        """Every message (of ``node_id`` only, if given), values decoded.

        A message whose value or parameters do not decode comes with ``error`` set and no
        value, so a reader can skip it and go on.
        """
        index = 0
        for batch in self.batches():
            for row in batch.to_pylist():
                index += 1
                if node_id is not None and row["node_id"] != node_id:
                    continue
                parameters: dict[str, Any] = {}
                value = error = None
                try:
                    parameters = _decode_parameters(row["parameters"])
                    value = decode_value(row["value"])
                except (msgspec.DecodeError, pa.ArrowInvalid, ValueError, StopIteration) as err:
                    error = f"message {index} does not decode: {err or type(err).__name__}"
                yield Entry(
                    node_id=row["node_id"],
                    output_id=row["output_id"],
                    offset_ns=row["offset_ns"],
                    timestamp_ns=row["timestamp_ns"],
                    parameters=parameters,
                    value=value,
                    error=error,
                )


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a recording and read its header (:class:`RecordingError` if it is not one)."""
    return Recording(path)
