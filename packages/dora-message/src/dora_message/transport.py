"""Sockets and frames of the data plane: moved to :mod:`dora_message.dataplane`
(``sockets`` and ``framing``); these names stay importable from here."""

from __future__ import annotations

from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.sockets import (
    MAX_FDS_PER_FRAME,
    MAX_HELD_FDS,
    FrameReader,
    accept_pending,
    connect,
    listen_socket,
    send_with_fd,
)

__all__ = [
    "MAX_FDS_PER_FRAME",
    "MAX_HELD_FDS",
    "FrameReader",
    "accept_pending",
    "connect",
    "encode_frame",
    "listen_socket",
    "send_with_fd",
]
