"""Runtime type checking of sent data (``DORA_RUNTIME_TYPE_CHECK=warn|error``).

The node API calls :func:`check_arrow_type` with a declared output URN and
``str(array.type)`` of the array being sent. Only primitive-backed types (numbers,
String, Bytes, Bool) are compared; struct types, unknown URNs and messages carrying
pattern metadata (``request_id``, ``goal_id``, ``goal_status``) are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from dora_message.constants import ENV_RUNTIME_TYPE_CHECK
from dora_message.types.arrow import pyarrow_names
from dora_message.types.registry import TypeRegistry

__all__ = [
    "ENV_RUNTIME_TYPE_CHECK",
    "PATTERN_METADATA_KEYS",
    "RuntimeCheckMode",
    "check_arrow_type",
    "is_exempt",
    "runtime_type_check_mode",
]

#: Messages carrying any of these keys may legitimately use several Arrow shapes.
PATTERN_METADATA_KEYS = frozenset({"request_id", "goal_id", "goal_status"})

RuntimeCheckMode = Literal["off", "warn", "error"]

_DEFAULT_REGISTRY = TypeRegistry()


def runtime_type_check_mode(value: str | None) -> RuntimeCheckMode:
    """Read the env value: ``warn``/``1``/``true``/``on`` warn, ``error`` fails, else off."""
    text = (value or "").strip().lower()
    if text == "error":
        return "error"
    if text in ("warn", "1", "true", "on"):
        return "warn"
    return "off"


def is_exempt(metadata_keys: Iterable[str]) -> bool:
    """Whether a message with these metadata keys skips the runtime check."""
    return any(key in PATTERN_METADATA_KEYS for key in metadata_keys)


def check_arrow_type(
    urn: str, arrow_type_str: str, registry: TypeRegistry | None = None
) -> str | None:
    """``None`` if data of pyarrow type ``arrow_type_str`` fits ``urn``, else the problem.

    ``arrow_type_str`` is ``str(array.type)`` (``double``, ``string``, ``list<item:
    int64>`` …). Types the check cannot judge (structs, unknown URNs) return ``None``.

    >>> check_arrow_type("std/core/v1/Float64", "double") is None
    True
    >>> check_arrow_type("std/core/v1/Float64", "float") is None
    False
    """
    primitive = (registry or _DEFAULT_REGISTRY).primitive(urn)
    if primitive is None:
        return None
    accepted = pyarrow_names(primitive.name)
    if arrow_type_str.strip() in accepted:
        return None
    spelled = " or ".join(f"`{name}`" for name in accepted)
    return (
        f'declared type "{urn}" expects Arrow {primitive.name} (pyarrow {spelled}), '
        f"but the data is `{arrow_type_str}`"
    )
