"""Runtime parameters (``dora param``): limits and value encoding, sans-I/O.

A parameter is keyed by (dataflow UUID, node id, key); its value is a JSON value kept as
its serialized text. Every store backend enforces the same limits
(spec/templates-and-misc.md §4): the key is at most 256 bytes (UTF-8) and has no NUL
character, the serialized value is at most 65 536 bytes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.errors import DoraError
from dora_message.param_checks import param_key_problem, param_value_problem

MAX_KEY_BYTES = 256
MAX_VALUE_BYTES = 65536


class ParamError(DoraError):
    """A parameter that breaks a limit, or one that does not exist."""


def check_key(key: str) -> None:
    """Raise :class:`ParamError` unless ``key`` is a valid parameter key."""
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ParamError(f"param key too long (max {MAX_KEY_BYTES} bytes)")
    if "\0" in key:
        raise ParamError("param key must not contain null bytes")
    problem = param_key_problem(key)  # empty, or control characters (issue 13 item 8)
    if problem:
        raise ParamError(problem)


def check_value(value_json: bytes) -> None:
    """Raise :class:`ParamError` unless ``value_json`` is small enough and valid JSON."""
    if len(value_json) > MAX_VALUE_BYTES:
        raise ParamError(f"param value too large (max {MAX_VALUE_BYTES} bytes)")
    try:
        value = msgspec.json.decode(value_json)
    except (msgspec.DecodeError, RecursionError):
        raise ParamError("invalid JSON value") from None
    problem = param_value_problem(value)  # nested too deeply for the nodes' decoders
    if problem:
        raise ParamError(problem)


def decode_value(value_json: bytes) -> Any:
    """The JSON value; raises ``msgspec.DecodeError`` when the stored bytes are unreadable."""
    return msgspec.json.decode(value_json)


def not_found(key: str) -> ParamError:
    """The error for a key that is not set."""
    return ParamError(f"param not found: {key}")
