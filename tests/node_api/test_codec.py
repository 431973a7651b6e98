"""Unit tests of payload encodings, framing with fd passing and the segment pool."""

from __future__ import annotations

import datetime as dt
import os
import select
import socket
import threading
from decimal import Decimal

import pyarrow as pa
import pytest

from dora._arrow import TypeInfo, as_payload, flat_parts, join_parts, read_flat, write_parts
from dora._shm import Mapping, ShmPool, ShmToken, segment_size
from dora_message.data_protocol import Data, NewSegment, data_encoder, to_receiver_decoder
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.sockets import FrameReader, send_with_fd

FLAT = [
    pa.array([1, None, 3], pa.int64()),
    pa.array([True, False, None] * 5).slice(2, 9),
    pa.array(["a", None, "ccc", ""]).slice(1),
    pa.array([b"xy", None], pa.large_binary()),
    pa.array([Decimal("1.5"), None], pa.decimal128(5, 1)),
    pa.array([dt.datetime(2020, 1, 1, tzinfo=dt.UTC)], pa.timestamp("ns", tz="UTC")),
    pa.array([b"abc", b"def"], pa.binary(3)),
    pa.nulls(4),
    pa.array([], pa.float32()),
]


@pytest.mark.parametrize("array", FLAT, ids=lambda a: str(a.type))
def test_flat_buffers_round_trip(array):
    info = TypeInfo(array.type)
    assert info.flat
    layout, parts, total = flat_parts(array)
    assert len(layout) == 3 + info.num_buffers and total % 8 == 0
    inline = bytes(join_parts(parts)) if parts else b""
    rebuilt = read_flat(pa.py_buffer(inline), layout, array.type)
    rebuilt.validate(full=True)
    assert rebuilt.equals(array)


def test_flat_buffers_written_into_a_segment():
    array = pa.array([i if i % 3 else None for i in range(10_000)], pa.int32())
    layout, parts, total = flat_parts(array)
    # plain copy, then Arrow's parallel copy (chosen by size), at an offset
    for offset, size in ((0, total), (128, 9 * 1024 * 1024)):
        target = bytearray(offset + size)
        write_parts(parts, target, offset, size)
        rebuilt = pa.py_buffer(target).slice(offset, total)
        assert read_flat(rebuilt, layout, array.type).equals(array)


def test_nested_and_dictionary_types_are_not_flat():
    assert not TypeInfo(pa.list_(pa.int8())).flat
    assert not TypeInfo(pa.struct([("a", pa.int8())])).flat
    dictionary = TypeInfo(pa.dictionary(pa.int8(), pa.string()))
    assert not dictionary.flat and dictionary.stream_only
    assert TypeInfo(pa.list_(pa.dictionary(pa.int8(), pa.string()))).stream_only


def test_payload_types():
    assert bytes(as_payload(b"ab")) == b"ab"
    assert bytes(as_payload(memoryview(b"abcd")[1:3])) == b"bc"
    assert as_payload(pa.chunked_array([[1], [2]])).equals(pa.array([1, 2]))
    with pytest.raises(TypeError, match="invalid `data` type"):
        as_payload([1, 2, 3])


def test_frame_reader_reassembles_and_passes_fds():
    a, b = socket.socketpair()
    try:
        reader = FrameReader(with_fds=True)
        fd = os.memfd_create("dora-test")
        send_with_fd(a, encode_frame(data_encoder, NewSegment(7, 4096)), fd)
        os.close(fd)
        big = encode_frame(data_encoder, NewSegment(8, 1))
        a.sendall(big[:3])  # a partial frame first
        assert reader.fill(b)
        assert [to_receiver_decoder.decode(f) for f in reader.frames()] == [NewSegment(7, 4096)]
        assert len(reader.fds) == 1
        a.sendall(big[3:])
        assert reader.fill(b)
        assert [to_receiver_decoder.decode(f) for f in reader.frames()] == [NewSegment(8, 1)]
        reader.close_fds()
        a.close()
        assert reader.fill(b) is False  # end of stream
    finally:
        b.close()


def test_frame_reader_grows_for_frames_larger_than_its_buffer():
    a, b = socket.socketpair()
    try:
        reader = FrameReader()
        big = Data("out", 1, {}, "raw", inline=bytes(range(256)) * 4096)  # 1 MiB inline
        blob = bytes(encode_frame(data_encoder, big)) * 3
        got = []
        sender = threading.Thread(target=a.sendall, args=(blob,))
        sender.start()
        while len(got) < 3:
            select.select([b], [], [], 5)
            assert reader.fill(b)
            got.extend(to_receiver_decoder.decode(f) for f in reader.frames())
        sender.join()
        assert got == [big] * 3
    finally:
        a.close()
        b.close()


def test_segment_sizes():
    assert segment_size(1) == 64 * 1024
    assert segment_size(64 * 1024 + 1) == 128 * 1024
    assert segment_size(16 * 1024 * 1024) == 16 * 1024 * 1024


def test_pool_packs_mid_size_messages_into_an_arena():
    pool = ShmPool("dora-test-arena")
    try:
        first, at_a = pool.acquire(100_000)
        second, at_b = pool.acquire(100_000)
        assert first is second and at_a == 0 and at_b == 100_032  # 64-byte aligned
        token_a, _ = pool.publish(first, at_a, {"r1", "r2"})
        token_b, _ = pool.publish(second, at_b, {"r1"})
        pool.release("r1", [token_a, token_b])
        # message a is still held by r2: first fit reuses the room b had
        assert pool.acquire(10) == (first, 100_032)
        pool.release("r2", [token_a])
        assert pool.acquire(10) == (first, 0)  # the lowest free room comes first
        pool.discard(first, 0)
        pool.discard(first, 100_032)
        rooms = [pool.acquire(1024 * 1024) for _ in range(5)]  # 4 fit, the fifth does not
        assert {seg.id for seg, _ in rooms[:4]} == {first.id} and rooms[4][0] is not first
        for seg, offset in rooms:
            pool.discard(seg, offset)
        for _ in range(5):  # the retired arena was freed and comes back: no new segment
            seg, offset = pool.acquire(1024 * 1024)
            assert offset == 0
            pool.discard(seg, offset)
        assert pool.stats()["created"] == 2
    finally:
        pool.close()


def test_pool_dedicated_segments_reuse_and_trim():
    pool = ShmPool("dora-test-pool", max_free_bytes=4 * 1024 * 1024)
    try:
        big, offset = pool.acquire(2_000_000)
        assert offset == 0 and big.size == 2 * 1024 * 1024
        token, dropped = pool.publish(big, 0, {"r1"})
        assert dropped == [] and pool.acquire(1_500_000)[0] is not big  # still held
        assert pool.release("r1", [token]) == []
        assert pool.stats()["busy_messages"] == 0
        assert pool.acquire(1_100_000)[0] is big  # the smallest free segment that fits
        huge, _ = pool.acquire(8_000_000)
        _, dropped = pool.publish(huge, 0, set())  # nobody to send to: freed at once...
        assert [s.id for s in dropped] == [huge.id]  # ...and over the free limit: dropped
        sample, offset = pool.acquire(10, dedicated=True)
        assert offset == 0 and sample.size == 64 * 1024 and not sample.has_views()
        view = memoryview(sample.mm)[:10]
        assert sample.has_views()
        view.release()
    finally:
        pool.close()


def test_receiver_mapping_and_release_token():
    pool = ShmPool("dora-test-map")
    try:
        seg, _ = pool.acquire(10)
        seg.mm[:5] = b"hello"
        released = []
        mapping = Mapping(os.dup(seg.fd), seg.size)
        token = ShmToken(mapping, 42, released.append)
        buf = pa.foreign_buffer(mapping.address, 5, base=token)
        del token
        array = pa.Array.from_buffers(pa.uint8(), 5, [None, buf])
        del buf
        assert bytes(array.buffers()[1]) == b"hello" and released == []
        del array
        assert released == [42]
    finally:
        pool.close()


class _StubSender:
    """Just enough of Sender for SampleHandler."""

    threshold = 4096

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def has_receivers(self, output_id: str) -> bool:
        return True

    def send(self, output_id, data, params, ts) -> None:
        self.sent.append(("inline", output_id, bytes(data), params))

    def send_segment(self, output_id, ts, params, kind, seg, offset, length) -> None:
        self.sent.append(("segment", output_id, bytes(seg.mm[offset : offset + length]), kind))

    def discard_segment(self, seg, offset) -> None:
        self.sent.append(("discarded", seg.id))


def test_sample_handler_small_large_views_and_discard():
    from dora._sample import SampleHandler

    pool = ShmPool("dora-test-sample")
    sender = _StubSender()
    try:
        with SampleHandler(sender, pool, "o", 3, {"k": 1}, lambda: 1) as buf:
            buf[:] = b"abc"
        large = SampleHandler(sender, pool, "o", 5000, {}, lambda: 1)
        view = large.as_memoryview()
        view[:2] = b"hi"
        part = view[:2]
        with pytest.raises(RuntimeError, match="still open"):
            large.send()  # a view is alive
        part.release()
        with pytest.raises(RuntimeError, match="view #1"):
            large.send()  # the view it was sliced from is still held
        view.release()
        large.send()
        with pytest.raises(ValueError):
            view[0]  # views are refused after the send
        with pytest.raises(RuntimeError, match="already been sent"):
            large.send()
        unsent = SampleHandler(sender, pool, "o", 8192, {}, lambda: 1)
        with pytest.raises(KeyError), unsent:
            raise KeyError("user error")  # nothing sent: the sample stays sendable
        unsent.discard()
        assert sender.sent[0] == ("inline", "o", b"abc", {"k": 1})
        assert sender.sent[1][0] == "segment" and sender.sent[1][2][:2] == b"hi"
        assert sender.sent[2][0] == "discarded"
    finally:
        pool.close()
