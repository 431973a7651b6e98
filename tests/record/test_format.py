"""The recording file: round trips, cut-off files, and files that are not recordings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from dora_record.format import (
    FORMAT_VERSION,
    RUST_MAGIC,
    Header,
    RecordingError,
    RecordingWriter,
    decode_value,
    encode_value,
    open_recording,
)

HEADER = Header(start_ns=1_700_000_000_000_000_000, dataflow_id="df-1", descriptor="nodes: []\n")
STAMP = dt.datetime(2026, 12, 2, 12, 0, 0, 123456, tzinfo=dt.UTC)

VALUES = [
    pa.array([1, 2, 3], pa.int64()),
    pa.array(["a", None, "ccc"]),
    pa.array([{"x": 1.5, "y": [1, 2]}]),
    pa.array(bytes(range(256)) * 4096, pa.uint8()),  # 1 MiB
    pa.array([], pa.null()),
]


def write(path: Path, count: int = len(VALUES), close: bool = True) -> RecordingWriter:
    writer = RecordingWriter(path, HEADER)
    for i in range(count):
        params = {"seq": i, "name": f"m{i}", "when": STAMP, "list": [1.5, 2.5], "flag": True}
        writer.write("cam", f"out{i % 2}", i * 1000, 5_000 + i, params, VALUES[i])
    if close:
        writer.close()
    else:
        writer.flush()
    return writer


def test_round_trip_keeps_values_parameters_and_header(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    writer = write(path)
    assert writer.messages == len(VALUES)
    recording = open_recording(path)
    assert recording.header == HEADER
    entries = list(recording.entries())
    assert not recording.truncated
    assert [e.offset_ns for e in entries] == [0, 1000, 2000, 3000, 4000]
    assert [e.timestamp_ns for e in entries] == [5000, 5001, 5002, 5003, 5004]
    assert [e.topic for e in entries] == ["cam/out0", "cam/out1"] * 2 + ["cam/out0"]
    for i, (entry, value) in enumerate(zip(entries, VALUES, strict=True)):
        assert entry.error is None
        assert entry.value is not None and entry.value.equals(value)
        assert entry.parameters == {
            "seq": i,
            "name": f"m{i}",
            "when": STAMP,
            "list": [1.5, 2.5],
            "flag": True,
        }
    assert recording.topics() == {("cam", "out0"): 3, ("cam", "out1"): 2}


def test_entries_of_one_node(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    writer = RecordingWriter(path, HEADER)
    for node in ("a", "b", "a"):
        writer.write(node, "o", 0, 0, {}, pa.array([1]))
    writer.close()
    assert [e.node_id for e in open_recording(path).entries("a")] == ["a", "a"]


def test_pyarrow_reads_a_recording_as_a_table(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    write(path)
    table = pa.ipc.open_stream(str(path)).read_all()
    assert table.num_rows == len(VALUES)
    assert table.column("node_id").to_pylist() == ["cam"] * len(VALUES)
    assert decode_value(table.column("value")[0].as_py()).to_pylist() == [1, 2, 3]
    assert table.schema.metadata[b"dora.recording.version"] == str(FORMAT_VERSION).encode()


def test_a_file_cut_in_a_message_reads_up_to_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    write(path, count=3, close=False)
    whole = path.read_bytes()
    # a fourth message (1 MiB) cut in its middle, as a killed recorder leaves it
    write(tmp_path / "full.adorec", count=4)
    longer = (tmp_path / "full.adorec").read_bytes()
    path.write_bytes(longer[: len(whole) + 500_000])
    recording = open_recording(path)
    entries = list(recording.entries())
    assert [e.offset_ns for e in entries] == [0, 1000, 2000]
    assert recording.truncated


def test_a_file_without_its_end_marker_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    writer = write(path, count=2, close=False)
    recording = open_recording(path)
    assert len(list(recording.entries())) == 2
    writer.close()


def test_an_undecodable_value_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "r.adorec"
    batch = pa.record_batch(
        [
            pa.array(["n"]),
            pa.array(["o"]),
            pa.array([0], pa.uint64()),
            pa.array([0], pa.uint64()),
            pa.array([b"\x80"], pa.binary()),
            pa.array([b"not arrow"], pa.binary()),
        ],
        names=["node_id", "output_id", "offset_ns", "timestamp_ns", "parameters", "value"],
    )
    schema = batch.schema.with_metadata({b"dora.recording.version": b"1"})
    with pa.ipc.new_stream(str(path), schema) as writer:
        writer.write_batch(batch.cast(schema))
    (entry,) = open_recording(path).entries()
    assert entry.value is None
    assert entry.error is not None and "message 1 does not decode" in entry.error


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (RUST_MAGIC + b"\x02\x00" + bytes(40), "a dora-rs recording"),
        (b"hello, this is not arrow at all", "not a dora recording"),
        (b"", "not a dora recording"),
    ],
)
def test_files_that_are_not_our_recordings(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "bad.adorec"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=needle) as info:
        open_recording(path)
    assert str(path) in str(info.value)


def test_an_arrow_stream_that_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "plain.arrow"
    table = pa.table({"x": [1, 2]})
    with pa.ipc.new_stream(str(path), table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(RecordingError, match="without its header"):
        open_recording(path)


def test_a_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.adorec"
    RecordingWriter(path, Header(0, "df", "", version=FORMAT_VERSION + 1)).close()
    with pytest.raises(
        RecordingError, match=f"unsupported recording format version {FORMAT_VERSION + 1}"
    ):
        open_recording(path)


def test_missing_file_and_unwritable_target(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not found"):
        open_recording(tmp_path / "nope.adorec")
    with pytest.raises(RecordingError, match="cannot create recording"):
        RecordingWriter(tmp_path / "no-such-dir" / "r.adorec", HEADER)


def test_value_encoding_round_trip() -> None:
    value = pa.array([[1, 2], None, [3]], pa.list_(pa.int32()))
    assert decode_value(encode_value(value)).equals(value)
