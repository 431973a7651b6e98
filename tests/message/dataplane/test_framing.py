"""The one frame parser: round trips, partial reads, limits (no processes)."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from dora_message.data_protocol import Data, Hello, data_encoder, to_receiver_decoder
from dora_message.dataplane.framing import (
    HEADER,
    FrameBuffer,
    FrameParser,
    FrameTooLarge,
    encode_frame,
    frame,
)
from dora_message.dataplane.sockets import FrameReader, send_with_fd
from dora_message.errors import ProtocolError

MESSAGES = [
    Hello("df", "camera", "dora-py-2", "t" * 32),
    Data("image", 1, {"k": 1}, "raw", inline=b"x" * 100),
    Data("big", 2, {}, "raw", inline=bytes(range(256)) * 2000),  # larger than the buffer
]


def encoded() -> bytes:
    return b"".join(encode_frame(data_encoder, msg) for msg in MESSAGES)


def test_round_trip_in_one_piece() -> None:
    parser = FrameParser(initial=64)
    parser.feed(encoded())
    assert [to_receiver_decoder.decode(body) for body in parser.frames()] == MESSAGES
    assert parser.pending() == 0


@pytest.mark.parametrize("chunk", [1, 3, 4, 5, 1000])
def test_partial_reads_give_each_frame_once_whole(chunk: int) -> None:
    stream = encoded()
    parser = FrameParser(initial=64)
    got = []
    for start in range(0, len(stream), chunk):
        parser.feed(stream[start : start + chunk])
        got += [to_receiver_decoder.decode(body) for body in parser.frames()]
    assert got == MESSAGES
    assert parser.pending() == 0


def test_reads_into_room_like_a_socket() -> None:
    stream = encoded()
    parser = FrameParser(initial=64)
    got = []
    pos = 0
    while pos < len(stream):
        room = parser.room()
        count = min(len(room), 777, len(stream) - pos)
        room[:count] = stream[pos : pos + count]
        parser.wrote(count)
        pos += count
        got += [to_receiver_decoder.decode(body) for body in parser.frames()]
    assert got == MESSAGES


def test_a_header_over_the_limit_is_refused_after_the_frames_before_it() -> None:
    parser = FrameParser(max_frame=10)
    parser.feed(frame(b"ok") + HEADER.pack(11) + b"x" * 11)
    with pytest.raises(FrameTooLarge, match="11 bytes exceeds the 10 limit") as caught:
        parser.frames()
    assert [bytes(body) for body in caught.value.complete] == [b"ok"]
    assert isinstance(caught.value, ProtocolError)


def test_frame_buffer_yields_bytes_then_raises() -> None:
    buffer = FrameBuffer(max_frame=10)
    buffer.feed(frame(b"one") + frame(b"two") + b"\x05\x00")
    assert list(buffer) == [b"one", b"two"]
    assert len(buffer) == 2
    buffer.feed(b"\x00\x00abc")
    assert list(buffer) == []
    buffer.feed(b"de" + HEADER.pack(100))
    got = []
    with pytest.raises(ProtocolError):
        for body in buffer:
            got.append(body)
    assert got == [b"abcde"]


def test_frame_reader_reads_frames_and_descriptors_from_a_socket() -> None:
    left, right = socket.socketpair()
    read_fd, write_fd = os.pipe()
    try:
        frames = [encode_frame(data_encoder, msg) for msg in MESSAGES]

        def send() -> None:  # the big frame is more than the socket buffer holds
            send_with_fd(left, frames[0], read_fd)
            for data in frames[1:]:
                left.sendall(data)
            left.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        reader = FrameReader(with_fds=True)
        got = []
        while reader.fill(right):  # never blocks: spins until the EOF
            got += [to_receiver_decoder.decode(body) for body in reader.frames()]
        sender.join()
        assert got == MESSAGES
        assert len(reader.fds) == 1
        reader.close_fds()
        assert reader.fds == []
    finally:
        for fd in (read_fd, write_fd):
            os.close(fd)
        left.close()
        right.close()
