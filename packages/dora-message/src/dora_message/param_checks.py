"""What a runtime parameter key and value may be, beyond the store's size limits.

Shared by ``dora param`` (to refuse early, with a clear message) and the coordinator
(which every control-plane client reaches): a key is shown on terminals and becomes an
event id in nodes, so it must not be empty or carry control characters (which would also
rewrite the user's terminal); a value is decoded by every node it reaches, recursively,
so its nesting is bounded far below what recursive decoders can take.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from dora_message.quote import excerpt

__all__ = ["MAX_PARAM_DEPTH", "param_key_problem", "param_value_problem"]

#: Deepest nesting of lists and objects in a parameter value (a scalar is depth 0).
MAX_PARAM_DEPTH = 64


def param_key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a parameter, or ``None``."""
    if not key:
        return "param key is empty"
    if any(unicodedata.category(c) == "Cc" for c in key):
        return f"param key `{excerpt(key)}` contains control characters"
    return None


def param_value_problem(value: Any) -> str | None:
    """Why decoded JSON ``value`` cannot be a parameter value, or ``None``."""
    if json_depth(value, MAX_PARAM_DEPTH + 1) > MAX_PARAM_DEPTH:
        return f"param value nested deeper than {MAX_PARAM_DEPTH} levels"
    return None


def json_depth(value: Any, stop: int) -> int:
    """Nesting depth of lists and dicts in ``value`` (iterative), counted up to ``stop``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest >= stop:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest
