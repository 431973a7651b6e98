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

Damage is never a traceback: a file that is not a readable recording is a
:class:`RecordingError`; a message that cannot be read or decoded is skipped and counted
(:attr:`Recording.unreadable`, :attr:`Entry.error`); a stream that cannot be read past some
point (cut off by a crash, or damaged there) ends early with :attr:`Recording.truncated`.
Every batch is validated in full before a value is touched: pyarrow trusts offsets and
lengths, and a flipped byte in them would otherwise crash the interpreter or read garbage.

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

from dora_message.private_files import open_private
from dora_record.errors import RecordingError
from dora_record.ipc_guard import body_compressed

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

# What pyarrow and the decoders raise on bad bytes: ArrowInvalid is a ValueError,
# ArrowIOError an OSError ("Invalid flatbuffers message"), ArrowNotImplementedError a
# RuntimeError ("Integers with more than 64 bits"); SystemError and TypeError come out of
# conversions of unvalidated data.
_BAD_DATA = (
    pa.ArrowException,
    OSError,
    ValueError,
    RuntimeError,
    TypeError,
    SystemError,
    UnicodeDecodeError,
    StopIteration,
    msgspec.DecodeError,
)
MAX_PROBLEMS = 20  # problems kept in :attr:`Recording.problems` (the count goes on)

_encode_parameters = msgspec.msgpack.Encoder().encode
_decode_parameters = msgspec.msgpack.Decoder(dict[str, Any]).decode


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


def read_batch(message: pa.ipc.Message, schema: pa.Schema) -> pa.RecordBatch:
    """The record batch of ``message``, refused before decoding when its body is
    compressed (see :mod:`dora_record.ipc_guard`), validated in full after."""
    if message.type != "record batch":
        raise ValueError(f"a `{message.type}` message where a record batch should be")
    if body_compressed(message.metadata.to_pybytes()):
        raise ValueError("a compressed message (recordings are written uncompressed)")
    batch = pa.ipc.read_record_batch(message, schema)
    batch.validate(full=True)  # pyarrow trusts offsets and lengths: check them first
    return batch


def decode_value(data: bytes) -> pa.Array:
    """The array of :func:`encode_value`'s bytes, validated (``ValueError`` or another of
    pyarrow's errors when they are not a sound one-column stream)."""
    messages = pa.ipc.MessageReader.open_stream(pa.py_buffer(data))
    schema = pa.ipc.read_schema(messages.read_next_message())
    batch = read_batch(messages.read_next_message(), schema)
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
            # 0600: a recording holds everything the dataflow sent (see private_files)
            self._file = pa.PythonFile(open_private(self.path, buffering=0), mode="w")
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
    """A recording opened for reading: its :attr:`header`, then its entries in order.

    After a pass over :meth:`entries` or :meth:`topics`: :attr:`unreadable` counts the
    messages that could not be read at all (their node is unknown), :attr:`truncated` says
    the stream could not be read to its end, and :attr:`problems` says what went wrong.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.truncated = False
        self.unreadable = 0
        self.problems: list[str] = []
        self.header = self._read_header()

    def _error(self, what: str) -> RecordingError:
        return RecordingError(f"`{self.path}`: {what}")

    def _problem(self, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(what)

    def _open_stream(self) -> tuple[pa.ipc.MessageReader, pa.Schema]:
        """The stream's message reader, past the schema message, and the schema."""
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
            # messages one by one, not a batch reader: each body is checked before pyarrow
            # decodes (and would decompress) it, and a bad one does not end the stream
            messages = pa.ipc.MessageReader.open_stream(source)
            return messages, pa.ipc.read_schema(messages.read_next_message())
        except _BAD_DATA as err:
            raise self._error(f"not a dora recording (not an Arrow IPC stream: {err})") from None

    def _read_header(self) -> Header:
        _, schema = self._open_stream()
        try:
            # pyarrow decodes names and metadata lazily: damaged UTF-8 raises here
            meta = dict(schema.metadata or {})
            names = list(schema.names)
            types = {name: schema.field(name).type for name in set(names) & set(COLUMNS.names)}
        except _BAD_DATA as err:
            raise self._error(f"damaged header: {err}") from None
        if _KEY_VERSION not in meta:
            raise self._error("not a dora recording (an Arrow stream without its header)")
        try:
            version = int(meta[_KEY_VERSION])
        except ValueError:
            raise self._error(f"bad format version {meta[_KEY_VERSION][:40]!r}") from None
        if version > FORMAT_VERSION or version < 1:
            raise self._error(
                f"unsupported recording format version {version} "
                f"(this dora reads version {FORMAT_VERSION})"
            )
        missing = [c for c in COLUMNS.names if c not in names]
        if missing:
            raise self._error(f"not a dora recording (no column {', '.join(missing)})")
        for wanted in COLUMNS:
            found = types[wanted.name]
            if found != wanted.type:
                raise self._error(
                    f"damaged header: column `{wanted.name}` is {found}, expected {wanted.type}"
                )
        try:
            return Header(
                start_ns=int(meta.get(_KEY_START, b"0")),
                dataflow_id=meta.get(_KEY_DATAFLOW, b"").decode(),
                descriptor=meta.get(_KEY_DESCRIPTOR, b"").decode(),
                version=version,
            )
        except (ValueError, UnicodeDecodeError) as err:
            raise self._error(f"damaged header: {err}") from None

    def _batches(self) -> Iterator[pa.RecordBatch | str]:
        """The stream's batches in order, each validated; a string for one that is not
        readable. Stops at the end, or where the stream cannot be read any further."""
        self.truncated, self.unreadable, self.problems = False, 0, []
        messages, schema = self._open_stream()
        failed: str | None = None  # the last read failed: damage, or the end of a cut file
        while True:
            try:
                message = messages.read_next_message()
            except StopIteration:
                break
            except _BAD_DATA as err:
                if failed is not None:
                    break  # no progress past the failure: nothing more can be read
                failed = str(err)
                continue
            if message is None:
                break
            if failed is not None:
                # the stream went on after the failure: that message alone was damaged
                yield f"unreadable ({failed})"
                failed = None
            try:
                yield read_batch(message, schema)
            except _BAD_DATA as err:
                yield f"damaged ({err})"
        if failed is not None:
            self.truncated = True
            self._problem(f"the stream ends in a cut-off or damaged message ({failed})")

    def _rows(self, columns: list[str]) -> Iterator[dict[str, Any] | str]:
        """Each message as a dict of ``columns`` (validated types), or a string saying why
        it cannot be read."""
        for batch in self._batches():
            if isinstance(batch, str):
                yield batch
                continue
            try:
                rows = batch.select(columns).to_pylist()
            except _BAD_DATA as err:
                yield f"damaged ({err})"
                continue
            for row in rows:
                nulls = [name for name, value in row.items() if value is None]
                yield f"damaged (no {', '.join(nulls)})" if nulls else row

    def _unreadable(self, index: int, why: str) -> str:
        self.unreadable += 1
        text = f"message {index} is {why}"
        self._problem(text)
        return text

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The stream's sound record batches in order (unreadable ones are counted)."""
        for index, batch in enumerate(self._batches(), 1):
            if isinstance(batch, str):
                self._unreadable(index, batch)
                continue
            yield batch if columns is None else batch.select(columns)

    def topics(self) -> dict[tuple[str, str], int]:
        """How many messages each ``(node, output)`` has, in first-seen order."""
        counts: dict[tuple[str, str], int] = {}
        for index, row in enumerate(self._rows(["node_id", "output_id"]), 1):
            if isinstance(row, str):
                self._unreadable(index, row)
                continue
            key = (row["node_id"], row["output_id"])
            counts[key] = counts.get(key, 0) + 1
        return counts

    def entries(self, node_id: str | None = None) -> Iterator[Entry]:
        """Every message (of ``node_id`` only, if given), values decoded.

        A message whose value or parameters do not decode comes with ``error`` set and no
        value, so a reader can skip it and go on. A message that cannot be read at all
        (its node is unknown, so it is yielded whatever ``node_id`` is) has an empty
        ``node_id`` and ``error`` set.
        """
        for index, row in enumerate(self._rows(COLUMNS.names), 1):
            if isinstance(row, str):
                yield Entry("", "", 0, 0, error=self._unreadable(index, row))
                continue
            if node_id is not None and row["node_id"] != node_id:
                continue
            parameters: dict[str, Any] = {}
            value = error = None
            try:
                parameters = _decode_parameters(row["parameters"])
                value = decode_value(row["value"])
            except _BAD_DATA as err:
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
