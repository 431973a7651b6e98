"""Length-prefixed msgpack framing: moved to :mod:`dora_message.dataplane.framing`
(the one parser of the wire format); these names stay importable from here."""

from __future__ import annotations

from dora_message.dataplane.framing import HEADER, MAX_FRAME, FrameBuffer, frame

__all__ = ["HEADER", "MAX_FRAME", "FrameBuffer", "frame"]
