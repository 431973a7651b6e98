"""Paths into a descriptor document, like ``nodes[2].inputs.tick``.

A path is a tuple of segments: ``str`` for mapping keys, ``int`` for list indexes.
Keys made only of ``[A-Za-z0-9_/-]`` print bare after a dot; anything else prints as a
JSON-quoted ``["key"]`` so the text form can be parsed back (``parse_path``) to find the
YAML line of an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from dora_message.quote import excerpt

Segment = str | int
DocPath = tuple[Segment, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_/-]+")
_TOKEN = re.compile(r'\.?([A-Za-z0-9_/-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def format_path(path: DocPath) -> str:
    """Render segments as ``nodes[2].inputs.tick``."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _BARE_KEY.fullmatch(seg):
            out.append(f".{seg}" if out else seg)
        else:
            out.append(f"[{json.dumps(seg)}]")
    return "".join(out)


def parse_path(text: str) -> DocPath | None:
    """Inverse of :func:`format_path`; ``None`` when ``text`` is not such a path."""
    segs: list[Segment] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        bare, index, quoted = match.groups()
        if bare is not None:
            segs.append(bare)
        elif index is not None:
            segs.append(int(index))
        else:
            segs.append(json.loads(quoted))
        pos = match.end()
    return tuple(segs)


def node_prefix(path: DocPath, node_ids: Sequence[Any]) -> str:
    """``"node `camera`: "`` when ``path`` lies inside a node whose id is known."""
    if len(path) < 2 or path[0] != "nodes" or not isinstance(path[1], int):
        return ""
    if path[2:] == ("id",) or not 0 <= path[1] < len(node_ids):
        return ""  # the message is about the id itself, or there is no such node
    node_id = node_ids[path[1]]
    return f"node `{excerpt(node_id)}`: " if isinstance(node_id, str) and node_id else ""


def yaml_line(text: str, path: DocPath) -> int | None:
    """1-based line of the YAML node at ``path`` (of its key for mapping entries)."""
    import yaml  # lazy: only error messages about YAML files need it

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = None
    for seg in path:
        if node is None:
            break
        line = node.start_mark.line
        if isinstance(node, yaml.MappingNode) and isinstance(seg, str):
            found = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == seg
                ),
                None,
            )
            if found is None:
                break
            line = found[0].start_mark.line
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(seg, int):
            if seg >= len(node.value):
                break
            node = node.value[seg]
            line = node.start_mark.line
        else:
            break
    return None if line is None else line + 1
