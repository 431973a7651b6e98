"""The last stderr lines of a failed node, cut down to what points at the user's mistake.

A Python node that dies prints a traceback whose last lines are often frames of the node
API or other libraries (``send_output`` -> ``_sender`` -> ``_arrow``): quoting the last ten
lines of stderr would show only those. :func:`condensed` keeps the traceback's header,
the frames of the user's own files (the last :data:`MAX_USER_FRAMES` of them), one line
saying how many library frames were left out, and the exception. Output that holds no
traceback is quoted as its last lines.
"""

from __future__ import annotations

import importlib.util
import re
import sysconfig
from collections.abc import Sequence
from functools import cache
from pathlib import Path

MAX_USER_FRAMES = 6
MAX_EXCEPTION_LINES = 6  # the exception line and what followed it (a multi-line message)
_HEADER = "Traceback (most recent call last):"
_FRAME = re.compile(r'^  File "(?P<path>[^"]*)", line \d+')
_CARETS = re.compile(r"^\s*[\^~]+\s*$")  # the ^^^^ markers under a frame's code
_LIBRARY_MARKERS = ("/site-packages/", "/dist-packages/")
_STDLIB = re.compile(r"/lib/python3\.\d+/")


def condensed(lines: Sequence[str], max_lines: int) -> list[str]:
    """The traceback in ``lines`` (the last one, when there are several) with the user's
    frames kept and library frames counted, or the last ``max_lines`` lines."""
    start = _last_header(lines)
    if start is None:
        return list(lines[-max_lines:])
    frames, index = _frames(lines, start + 1)
    rest = list(lines[index : index + MAX_EXCEPTION_LINES])
    if not frames:
        return [lines[start], *rest]
    mine = [i for i, frame in enumerate(frames) if not is_library(frame.path)]
    keep = set(mine[-MAX_USER_FRAMES:]) if mine else {len(frames) - 1}
    shown = [lines[start]]
    left_out: list[_Frame] = []
    for i, frame in enumerate(frames):
        if i not in keep:
            left_out.append(frame)
            continue
        if left_out:
            shown.append(_left_out_note(left_out))
            left_out = []
        shown.extend(frame.lines)
    if left_out:
        shown.append(_left_out_note(left_out))
    return [*shown, *rest]


def _left_out_note(frames: list[_Frame]) -> str:
    count = _count(len(frames), "frame")
    if all(is_library(frame.path) for frame in frames):
        return f"  ... {count} of dora or other libraries"
    return f"  ... {count} not shown"


class _Frame:
    """One ``File "...", line N, in f`` line and the source lines under it."""

    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines


def _last_header(lines: Sequence[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() == _HEADER:
            return index
    return None


def _frames(lines: Sequence[str], index: int) -> tuple[list[_Frame], int]:
    """The frames from ``index`` on, and the index of the first line after them."""
    frames: list[_Frame] = []
    while index < len(lines):
        match = _FRAME.match(lines[index])
        if match is None:
            break
        body = [lines[index]]
        index += 1
        while index < len(lines) and lines[index].startswith("    "):
            if not _CARETS.match(lines[index]):
                body.append(lines[index])
            index += 1
        frames.append(_Frame(match.group("path"), body))
    return frames, index


def is_library(path: str) -> bool:
    """Whether a traceback's file is library code: the node API, an installed package,
    the standard library or frozen bootstrap code; anything else is the user's."""
    if path.startswith("<frozen "):
        return True
    if any(marker in path for marker in _LIBRARY_MARKERS) or _STDLIB.search(path):
        return True
    return any(path.startswith(root) for root in _library_roots())


@cache
def _library_roots() -> tuple[str, ...]:
    """Folders of the node API (an editable install lives outside site-packages) and of
    this Python's standard library."""
    roots = []
    spec = importlib.util.find_spec("dora")  # finds, does not import
    for location in (spec.submodule_search_locations or []) if spec else []:
        roots.append(str(Path(location)) + "/")
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.append(str(Path(path)) + "/")
    return tuple(roots)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
