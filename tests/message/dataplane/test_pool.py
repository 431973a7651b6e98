"""The segment pool: reuse after release, the arena, the byte limit (no processes)."""

from __future__ import annotations

import os

import pytest

from dora_message.dataplane.pool import (
    ARENA_SIZE,
    MIN_SEGMENT,
    SegmentPool,
    map_segment,
    segment_size,
)
from dora_message.errors import ProtocolError


def test_segment_sizes_are_powers_of_two_from_64_kib() -> None:
    assert segment_size(1) == MIN_SEGMENT
    assert segment_size(MIN_SEGMENT + 1) == 2 * MIN_SEGMENT
    assert segment_size(3 << 20) == 4 << 20


def test_a_segment_is_reused_once_every_receiver_released_it() -> None:
    pool = SegmentPool("test-pool")
    try:
        seg, offset = pool.acquire(2 << 20)
        assert offset == 0
        token, dropped = pool.publish(seg, offset, {"a", "b"})
        assert dropped == []
        assert pool.release("a", [token]) == []
        again, _ = pool.acquire(2 << 20)
        assert again is not seg  # "b" still holds it
        pool.discard(again, 0)
        pool.release("b", [token])
        assert pool.acquire(2 << 20)[0] in (seg, again)
        assert pool.stats()["created"] == 2
    finally:
        pool.close()


def test_busy_when_full_counts_held_messages_only_while_no_segment_is_free() -> None:
    pool = SegmentPool("test-pool")
    try:
        assert pool.busy_when_full() == 0  # nothing made yet: nothing held
        first, offset = pool.acquire(2 << 20, dedicated=True)
        token, _ = pool.publish(first, offset, {"a"})
        second, offset = pool.acquire(2 << 20, dedicated=True)
        pool.publish(second, offset, {"a"})
        assert pool.busy_when_full() == 2
        pool.release("a", [token])  # the first is free again
        assert pool.busy_when_full() == 0
    finally:
        pool.close()


def test_a_receiver_that_goes_away_releases_everything() -> None:
    pool = SegmentPool("test-pool")
    try:
        seg, _ = pool.acquire(2 << 20, dedicated=True)
        pool.publish(seg, 0, {"gone"})
        assert pool.stats()["busy_messages"] == 1
        pool.receiver_gone("gone")
        assert pool.stats()["busy_messages"] == 0 and pool.stats()["free"] == 1
    finally:
        pool.close()


def test_small_messages_share_the_arena() -> None:
    pool = SegmentPool("test-pool")
    try:
        first, a = pool.acquire(1000)
        second, b = pool.acquire(1000)
        assert first is second and first.size == ARENA_SIZE
        assert b >= a + 1000 and b % 64 == 0
        dedicated, offset = pool.acquire(1000, dedicated=True)
        assert dedicated is not first and offset == 0 and dedicated.size == MIN_SEGMENT
    finally:
        pool.close()


def test_at_the_byte_limit_acquire_waits_for_a_release() -> None:
    pool = SegmentPool("test-pool", max_bytes=2 * MIN_SEGMENT)
    try:
        small, _ = pool.acquire(MIN_SEGMENT, dedicated=True)
        pool.discard(small, 0)  # free, but too small for what comes next
        big, _ = pool.acquire(2 * MIN_SEGMENT, dedicated=True)
        assert [seg.id for seg in pool.evicted()] == [small.id]  # unmapped to make room
        token, _ = pool.publish(big, 0, {"slow"})
        waits: list[int] = []

        def wait() -> None:  # stands for reading the receiver's Release
            waits.append(1)
            pool.release("slow", [token])

        again, _ = pool.acquire(2 * MIN_SEGMENT, dedicated=True, wait=wait)
        assert waits == [1] and again is big
        assert pool.stats()["bytes"] == 2 * MIN_SEGMENT
    finally:
        pool.close()


def test_a_receiver_maps_only_sealed_segments_of_the_announced_size() -> None:
    pool = SegmentPool("test-pool")
    try:
        seg, _ = pool.acquire(10, dedicated=True)
        seg.mm[:5] = b"hello"
        mapping = map_segment(os.dup(seg.fd), seg.size)
        assert mapping[:5] == b"hello"
        mapping.close()
        with pytest.raises(ProtocolError, match="were announced"):
            map_segment(os.dup(seg.fd), seg.size * 2)
        read_fd, write_fd = os.pipe()
        os.close(write_fd)
        with pytest.raises(ProtocolError, match="not a sealable memory file"):
            map_segment(read_fd, 10)  # closed by map_segment
    finally:
        pool.close()
