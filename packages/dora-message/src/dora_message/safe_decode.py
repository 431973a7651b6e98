"""Decoders of control messages that fail only with a typed error.

msgspec raises ``DecodeError``/``ValidationError`` for most bad input, but a value nested
a few thousand levels deep (possible wherever a message carries ``Any``: a descriptor, a
param value) ends in ``RecursionError``, which every caller let through. A
:class:`SafeDecoder` turns every decoding failure into :class:`MalformedMessage`, which
is a :class:`~dora_message.errors.ProtocolError` for new code and still a
``msgspec.ValidationError`` (hence a ``msgspec.DecodeError``) for the callers that catch
those.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from dora_message.errors import ProtocolError

__all__ = ["MalformedMessage", "SafeDecoder"]

T = TypeVar("T")


class MalformedMessage(ProtocolError, msgspec.ValidationError):
    """A frame that is not a valid message."""


class SafeDecoder(Generic[T]):
    """A msgspec ``json`` or ``msgpack`` decoder whose ``decode`` raises only
    :class:`MalformedMessage`."""

    __slots__ = ("_decode",)

    def __init__(self, decoder: Any) -> None:
        self._decode = decoder.decode

    def decode(self, buf: Any) -> T:
        """Decode one message from ``buf`` (``bytes``, ``str`` for JSON, ``memoryview``)."""
        try:
            return self._decode(buf)
        except msgspec.DecodeError as err:
            raise MalformedMessage(str(err)) from None
        except RecursionError:
            raise MalformedMessage("the message is nested too deeply") from None
