"""The payload integrity check flags every kind of damaged payload (unit tests)."""

import pyarrow as pa
import pytest
from common import expected_byte, make_payload, verify_payload
from scenarios import receiver_problem

SIZES = [8, 4096, 4 * 1024 * 1024]


def _with_byte_changed(array: pa.Array, index: int, value: int) -> pa.Array:
    data = bytearray(array.buffers()[1].to_pybytes()[: len(array)])
    data[index] = value
    return pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(bytes(data))])


@pytest.mark.parametrize("size", SIZES)
def test_intact_payload_passes(size):
    assert verify_payload(make_payload(size, 17), size, 17) is None


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_byte_is_flagged(size, where):
    seq = 42
    index = {"first": 0, "middle": size // 2, "last": size - 1}[where]
    damaged = _with_byte_changed(make_payload(size, seq), index, expected_byte(seq) ^ 0x55)
    error = verify_payload(damaged, size, seq)
    assert error is not None and "seq 42" in error


def test_wrong_length_is_flagged():
    error = verify_payload(make_payload(100, 3), 128, 3)
    assert error is not None and "length 100 != 128" in error


def test_stale_buffer_of_previous_message_is_flagged():
    assert verify_payload(make_payload(64, 9), 64, 10) is not None


def test_zeroed_buffer_is_flagged():
    zeros = pa.array([0] * 64, type=pa.uint8())
    assert all(verify_payload(zeros, 64, seq) is not None for seq in range(600))


def test_non_array_is_flagged():
    assert "not a pyarrow array" in verify_payload(b"\x01" * 8, 8, 0)


def test_receiver_result_with_corruption_or_gaps_is_unusable():
    clean = {"corrupt": 0, "errors": [], "duplicates": 0, "sizes": {"8": {"received": 5}}}
    assert receiver_problem(clean, {8: 5}) is None
    corrupt = {**clean, "corrupt": 1, "errors": ["seq 3: bytes span 0..4, expected all 4"]}
    assert "1 corrupt payload" in receiver_problem(corrupt, {8: 5})
    assert "1 of 6 messages of 8 B missing" in receiver_problem(clean, {8: 6})
    duplicated = {**clean, "duplicates": 2}
    assert "2 duplicated" in receiver_problem(duplicated, {8: 5})


def test_payload_at_an_offset_is_read_there():
    seq = 7
    want = expected_byte(seq)
    data = bytes([0]) * 16 + bytes([want]) * 64 + bytes([0]) * 16
    whole = pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(data)])
    assert verify_payload(whole.slice(16, 64), 64, seq) is None
    assert verify_payload(whole.slice(15, 64), 64, seq) is not None
    assert verify_payload(whole.slice(17, 64), 64, seq) is not None
