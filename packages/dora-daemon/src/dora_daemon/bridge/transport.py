"""Sockets of the bridge: data-plane frames with passed file descriptors, memfd segments.

The daemon speaks the node-to-node data plane (:mod:`dora_message.data_protocol`)
without importing the node API: frames are a 4-byte little-endian length plus a msgpack
body, segment fds travel with ``SCM_RIGHTS`` next to the frame that introduces them,
and shared memory is a ``memfd`` mapped with ``mmap``. Payloads stay opaque bytes.
"""

from __future__ import annotations

import array
import contextlib
import mmap
import os
import socket
from typing import Any

import msgspec

from dora_message.codec import HEADER, MAX_FRAME
from dora_message.errors import ProtocolError

_READ_SIZE = 256 * 1024
_MAX_FDS = 16
_ANC_SPACE = socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)
_SEND_BUFFER = 4 * 1024 * 1024


def encode_frame(encoder: msgspec.msgpack.Encoder, message: Any) -> bytearray:
    """``message`` as one length-prefixed frame."""
    buf = bytearray(4)
    encoder.encode_into(message, buf, 4)
    HEADER.pack_into(buf, 0, len(buf) - 4)
    return buf


def listen(address: str) -> socket.socket:
    """A non-blocking listening Unix socket on ``address`` (abstract when NUL-prefixed)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def connect(address: str, timeout: float) -> socket.socket:
    """A blocking data connection to ``address`` with a large send buffer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # capped by the kernel, never fatal
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        sock.settimeout(timeout)
        sock.connect(address)
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    return sock


def send_with_fd(sock: socket.socket, frame: bytes | bytearray, fd: int) -> None:
    """Send ``frame`` with ``fd`` attached to its first byte."""
    fds = array.array("i", [fd])
    sent = sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    if sent < len(frame):
        sock.sendall(memoryview(frame)[sent:])


class FrameReader:
    """Receive side of one connection: bytes in, frame bodies and passed fds out."""

    __slots__ = ("_buf", "fds")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.fds: list[int] = []

    def fill(self, sock: socket.socket) -> int | None:
        """Read what is available without blocking: the byte count, None at end of stream."""
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(
                _READ_SIZE, _ANC_SPACE, socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return 0
        except (ConnectionResetError, BrokenPipeError):
            return None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                self.fds.extend(fds)
        if not data:
            return None
        self._buf += data
        return len(data)

    def frames(self) -> list[bytes]:
        """Every complete frame body received so far."""
        buf = self._buf
        out: list[bytes] = []
        pos = 0
        with memoryview(buf) as view:
            while len(buf) - pos >= 4:
                (size,) = HEADER.unpack_from(buf, pos)
                if size > MAX_FRAME:
                    raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME} limit")
                if len(buf) - pos - 4 < size:
                    break
                out.append(bytes(view[pos + 4 : pos + 4 + size]))
                pos += 4 + size
        if pos:
            del buf[:pos]
        return out

    def close_fds(self) -> None:
        """Close passed descriptors nobody claimed."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


def map_segment(fd: int, size: int) -> mmap.mmap:
    """Map a sender's segment read-only; the fd is closed (the mapping keeps the memory)."""
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


class Segment:
    """One memfd of the bridge's own pool, mapped read-write."""

    __slots__ = ("fd", "id", "mm", "size")

    def __init__(self, segment_id: int, size: int, name: str) -> None:
        self.id = segment_id
        self.size = size
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self.mm = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.close(self.fd)
            raise

    def close(self) -> None:
        """Unmap and close (receivers keep their own mappings)."""
        with contextlib.suppress(BufferError):
            self.mm.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)
