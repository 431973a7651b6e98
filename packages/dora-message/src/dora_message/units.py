"""Human-friendly durations and byte sizes.

``parse_duration`` reads the CLI's DURATION flags (``--stop-after 30s``) and descriptor
seconds; ``parse_size`` reads ``max_log_size`` / ``shared_memory_pool_size``. Both are
pure functions that raise :class:`ValueError` with a message fit for the user.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "parse_size"]

# One component of a duration: a number and an optional unit (``1h``, ``30``, ``1.5 ms``).
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]*)")

_DURATION_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "nsec": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "millis": 1e-3,
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*")

_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}


def parse_duration(value: str | int | float) -> float:
    """Return ``value`` as seconds.

    Accepts a non-negative number (seconds) or a string: a bare number (seconds) or one
    or more ``<number><unit>`` parts such as ``500ms``, ``30s``, ``5m``, ``1h30m``, ``2d``.
    Units (case-insensitive): ns, us, ms, s, m, h, d, w and their long spellings.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like `30s` or `500ms`, got {value!r}")
    if isinstance(value, int | float):
        return _check_seconds(float(value), repr(value))
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like `30s`, got {type(value).__name__}")
    text = value.strip().lower()
    if not text:
        raise ValueError("empty duration; write e.g. `30s`, `500ms` or `5m`")
    if text.startswith("-"):
        raise ValueError(f"duration `{value}` is negative; durations must be >= 0")
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(_bad_duration(value))
        number, unit = match.groups()
        scale = _DURATION_UNITS.get(unit)
        if scale is None:
            raise ValueError(
                f"unknown unit `{unit}` in duration `{value}`; use ms, s, m, h or d "
                "(e.g. `500ms`, `30s`, `1h30m`)"
            )
        total += float(number) * scale
        pos = match.end()
        # Trailing whitespace after the last part is fine; anything else loops again.
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return _check_seconds(total, f"`{value}`")


def parse_size(value: str | int) -> int:
    """Return ``value`` as a number of bytes.

    Accepts a non-negative integer (bytes) or a string such as ``"50MB"``, ``"1K"``,
    ``"8 MiB"``, ``"1.5G"``. Units are 1024-based and case-insensitive: B, K/KB/KiB,
    M/MB/MiB, G/GB/GiB, T/TB/TiB.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size like `50MB` or a number of bytes, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size {value} is negative; sizes must be >= 0")
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a size like `50MB` or an integer number of bytes, got {value!r}"
        )
    match = _SIZE.fullmatch(value.lower())
    if match is None:
        if value.strip().startswith("-"):
            raise ValueError(f"size `{value}` is negative; sizes must be >= 0")
        raise ValueError(
            f"invalid size `{value}`; write a number with an optional unit "
            "B, K, KB, M, MB, G or GB (1024-based), e.g. `50MB`"
        )
    number, unit = match.groups()
    scale = _SIZE_UNITS.get(unit)
    if scale is None:
        raise ValueError(
            f"unknown unit `{unit}` in size `{value}`; use B, K/KB, M/MB, G/GB (1024-based)"
        )
    if scale == 1 and "." in number:
        raise ValueError(f"size `{value}` is not a whole number of bytes")
    return round(float(number) * scale)


def _check_seconds(seconds: float, shown: str) -> float:
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"duration {shown} is not a finite number")
    if seconds < 0:
        raise ValueError(f"duration {shown} is negative; durations must be >= 0")
    return seconds


def _bad_duration(value: str) -> str:
    return (
        f"invalid duration `{value}`; write a number of seconds or parts like "
        "`500ms`, `30s`, `5m`, `1h30m`, `2d`"
    )
