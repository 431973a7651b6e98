"""Sockets of the data plane: abstract Unix sockets, reading frames, fd passing.

Shared by the node API and the daemon's bridge (and the node's daemon connection).
Frames are parsed by :class:`~dora_message.dataplane.framing.FrameParser`; this module
only moves bytes and descriptors. Sockets stay in blocking mode; readers only read after
the selector reported them readable and pass ``MSG_DONTWAIT`` so a spurious wake-up can
never block.
"""

from __future__ import annotations

import array
import contextlib
import logging
import os
import socket
from collections.abc import Iterator

from dora_message.dataplane.framing import FrameParser
from dora_message.peer import RefusalLog, refusal

log = logging.getLogger(__name__)

_MAX_FDS = 16  # room per read: enough to see (and refuse) a frame carrying several
MAX_FDS_PER_FRAME = 1  # a `segment` frame carries exactly one descriptor, nothing else any
MAX_HELD_FDS = 2  # received but not yet claimed by their `segment` frame (split reads)
_ANC_SPACE = socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)
# plain ints: the socket module's flags are IntFlag members, and `int & IntFlag` runs
# enum code (thousands of instructions) on every read
_CTRUNC = int(socket.MSG_CTRUNC)
_RECV_FLAGS = socket.MSG_DONTWAIT
_RECVMSG_FLAGS = socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
_SEND_BUFFER = 1024 * 1024


def listen_socket(address: str) -> socket.socket:
    """Bind and listen on ``address`` (abstract when it starts with NUL)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(address)
        sock.listen(4096)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def accept_pending(
    listener: socket.socket, allow_root: bool = False, refusals: RefusalLog | None = None
) -> Iterator[socket.socket]:
    """Every connection waiting on non-blocking ``listener``, each in blocking mode.

    Peers that run as another user (``SO_PEERCRED``; root only with ``allow_root``) are
    closed at once, before anything of theirs is read, and logged through
    ``refusals``. Stops when none is left; an ``OSError`` other than "try again"
    propagates.
    """
    while True:
        try:
            sock, _addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        reason = refusal(sock, allow_root)
        if reason is not None:
            sock.close()  # descriptors it queued are freed by the kernel, never received
            (refusals or _REFUSALS).refused(reason)
            continue
        sock.setblocking(True)
        yield sock


_REFUSALS = RefusalLog("a data socket")


def connect(address: str, timeout: float | None = None, data: bool = False) -> socket.socket:
    """Connect a blocking stream socket to ``address``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        if data:
            # bigger send buffer: a busy receiver must not stall a fast sender
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
    """Send ``frame`` with ``fd`` attached (SCM_RIGHTS) to its first byte."""
    fds = array.array("i", [fd])
    sent = sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    if sent < len(frame):
        sock.sendall(memoryview(frame)[sent:])


class FrameReader(FrameParser):
    """The frame parser of one connection, filled from its socket.

    With ``with_fds`` the reader also collects passed file descriptors, in order.
    """

    __slots__ = ("error", "fds", "last_count", "with_fds")

    def __init__(self, with_fds: bool = False) -> None:
        super().__init__()
        self.with_fds = with_fds
        self.fds: list[int] = []
        self.last_count = 0  # bytes the last fill() read (0: nothing was available)
        self.error: str | None = None  # why fill() reported the connection broken

    def fill(self, sock: socket.socket) -> bool:
        """Read what is available; False on end of stream (or a reset)."""
        # FrameParser.room(), spelled out: this runs once per read of every connection
        end = self._end
        if self._start == end:
            # everything was consumed: read at the start again (the common case)
            self._start = self._end = end = 0
            if self._need > len(self._buf):
                self._make_room()
                end = self._end
        else:
            self._make_room()
            end = self._end
        try:
            if self.with_fds:
                n, ancdata, flags, _addr = sock.recvmsg_into(
                    self._whole if end == 0 else [self._view[end:]], _ANC_SPACE, _RECVMSG_FLAGS
                )
                if (ancdata or flags & _CTRUNC) and not self._take_fds(ancdata, flags):
                    self.last_count = 0
                    return False
            else:
                n = sock.recv_into(self._view[end:] if end else self._view, 0, _RECV_FLAGS)
        except (BlockingIOError, InterruptedError):
            self.last_count = 0
            return True
        except (ConnectionResetError, BrokenPipeError):
            self.last_count = 0
            return False
        self.last_count = n
        if n == 0:
            return False
        self._end = end + n
        return True

    def _take_fds(self, ancdata: list[tuple[int, int, bytes]], flags: int) -> bool:
        """Keep passed descriptors within the bounds; False (every descriptor of this
        read closed, ``error`` set) when the peer broke them. The kernel delivers the
        descriptors of at most one ``sendmsg`` per read, so one read is one frame's."""
        received = array.array("i")
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                received.extend(fds)
        if flags & _CTRUNC:
            self.error = f"more than {_MAX_FDS} descriptors in one frame (truncated)"
        elif len(received) > MAX_FDS_PER_FRAME:
            self.error = f"{len(received)} descriptors in one frame (at most {MAX_FDS_PER_FRAME})"
        elif len(self.fds) + len(received) > MAX_HELD_FDS:
            self.error = f"more than {MAX_HELD_FDS} descriptors not claimed by a segment frame"
        else:
            self.fds.extend(received)
            return True
        for fd in received:
            with contextlib.suppress(OSError):
                os.close(fd)
        return False

    def close_fds(self) -> None:
        """Close passed descriptors nobody claimed."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
