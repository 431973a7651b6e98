"""Every damaged recording is a clear error or counted skips, never a traceback (issue 13
item 12): the reader over thousands of damaged copies."""

from __future__ import annotations

import collections
from pathlib import Path

import pyarrow as pa
import pytest

from dora_record.format import COLUMNS, open_recording
from tests.record.corruptions import MESSAGES, read_back, variants, write_good

METADATA = {b"dora.recording.version": b"1"}


@pytest.mark.timeout(600)
def test_every_damaged_copy_reads_as_an_error_or_counted_skips(tmp_path: Path) -> None:
    good = write_good(tmp_path / "good.adorec")
    assert read_back(tmp_path / "good.adorec").readable == MESSAGES
    kinds: collections.Counter[str] = collections.Counter()
    path = tmp_path / "bad.adorec"
    for name, data in variants(good).items():
        path.write_bytes(data)
        outcome = read_back(path)  # raises (failing the test) on anything but RecordingError
        kinds[f"{name.split('-')[0]}:{outcome.kind}"] += 1
        if outcome.kind == "error":
            assert str(path) in outcome.error, (name, outcome)  # the message names the file
        assert outcome.readable <= MESSAGES, name
    # every family was exercised, and the damage was noticed in each way it can be
    assert {k.split(":")[1] for k in kinds} >= {"error", "truncated", "unreadable", "undecodable"}
    assert {k.split(":")[0] for k in kinds} == {"truncated", "flipped", "wrong", "huge"}
    assert kinds["wrong:error"] == 5


@pytest.mark.timeout(60)
def test_a_damaged_message_in_the_middle_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    good = write_good(tmp_path / "good.adorec")
    path = tmp_path / "bad.adorec"
    for data in variants(good).values():
        path.write_bytes(data)
        outcome = read_back(path)
        if outcome.kind == "unreadable" and outcome.readable == MESSAGES - 1:
            return  # one message lost, the ones after it still read
    pytest.fail("no damaged copy lost exactly one message")


def _compressed_value(count: int) -> bytes:
    """An Arrow IPC stream of ``count`` zero int32s, ZSTD-compressed (~30,000 to 1)."""
    batch = pa.record_batch([pa.repeat(pa.scalar(0, pa.int32()), count)], names=["value"])
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, batch.schema, options=options) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


@pytest.mark.timeout(60)
def test_compressed_bodies_are_refused_before_they_inflate(tmp_path: Path) -> None:
    # a few kilobytes that would inflate to 400 MB per message
    bomb = _compressed_value(100 << 20)
    assert len(bomb) < 100_000
    path = tmp_path / "bomb.adorec"
    write_good(path)
    good = next(iter(pa.ipc.open_stream(str(path)))).to_pylist()[0]
    row = {**good, "value": bomb}
    table = pa.Table.from_pylist([row, good], schema=COLUMNS.with_metadata(METADATA))
    # the value inside a message is compressed
    with pa.ipc.new_stream(str(path), table.schema) as writer:
        writer.write_table(table, max_chunksize=1)
    entries = list(open_recording(path).entries())
    assert [e.error is None for e in entries] == [False, True]
    assert "compressed" in (entries[0].error or "")
    # the messages of the recording itself are compressed
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(str(path), table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=1)
    recording = open_recording(path)
    assert recording.topics() == {}
    assert recording.unreadable == 2
    assert all("compressed" in problem for problem in recording.problems)
