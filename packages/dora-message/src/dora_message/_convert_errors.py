"""Turn a msgspec conversion error into a document path and a readable message.

msgspec reports ``Expected `str`, got `int` - at `$.nodes[2].inputs[...]```: dict keys
are hidden as ``[...]``. We find the offending key by re-converting the document with
that mapping narrowed to one entry at a time (only on the error path, so cost is moot),
then phrase the message for people: ``unknown key `ouputs`; did you mean `outputs`?``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import msgspec.inspect as mi

from dora_message._checks import suggest
from dora_message._docpath import DocPath
from dora_message.descriptor import Descriptor
from dora_message.quote import excerpt

_ERROR = re.compile(r"(?P<msg>.*?)(?: - at (?:`key` in )?`(?P<path>\$[^`]*)`)?", re.DOTALL)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|(\[\.\.\.\])")
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing (an empty value)",
}


def describe_validation_error(raw: Any, err: msgspec.ValidationError) -> tuple[DocPath, str]:
    """The path and message for ``err``, raised converting ``raw`` to ``Descriptor``."""
    text = str(err)
    match = _ERROR.fullmatch(text)
    assert match is not None  # the pattern accepts any text
    message, msg_path = match.group("msg"), match.group("path") or "$"
    on_key = "- at `key` in `" in text
    path, types = _resolve(raw, msg_path, text)
    if on_key:
        return path, _bad_key(raw, path)
    if found := re.fullmatch(r"Object contains unknown field `(.*)`", message):
        key = found.group(1)
        fields = [f.encode_name for t in types if isinstance(t, mi.StructType) for f in t.fields]
        return (*path, key), f"unknown key `{excerpt(key)}`{suggest(key, fields)}"
    if found := re.fullmatch(r"Object missing required field `(.*)`", message):
        return path, f"missing required key `{found.group(1)}`"
    if found := re.fullmatch(r"Invalid enum value (.*)", message):
        value = found.group(1).strip("'\"")
        choices = [str(v) for t in types if isinstance(t, mi.LiteralType) for v in t.values]
        hint = suggest(value, choices) or suggest(value.lower(), choices)
        return path, f"invalid value `{excerpt(value)}`; expected one of {', '.join(choices)}{hint}"
    if found := re.fullmatch(r"Expected `(.*)`, got `(.*)`", message):
        return path, _expected(path, found.group(1), found.group(2))
    return path, excerpt(message[:1].lower() + message[1:], 500)


def _expected(path: DocPath, wanted: str, got: str) -> str:
    words = []
    for name in wanted.split(" | "):
        word = _TYPE_WORDS.get(name, f"`{name}`")
        if name != "null" and word not in words:
            words.append(word)
    if not words:
        words.append(_TYPE_WORDS["null"])
    wanted_text = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    text = f"expected {wanted_text}, got {_TYPE_WORDS.get(got, got)}"
    if path and path[0] == "nodes" and len(path) == 2:
        text += "; each node is a mapping with at least `id:`"
    elif len(path) >= 2 and path[-2] == "inputs" and got != "null":
        text += "; write `<node>/<output>` or a mapping with `source:`"
    elif got == "null":
        text += "; give it a value or remove the key"
    return text


def _bad_key(raw: Any, path: DocPath) -> str:
    mapping = _walk(raw, path)
    bad = (
        next((k for k in mapping if not isinstance(k, str)), None)
        if isinstance(mapping, dict)
        else None
    )
    shown = f" `{excerpt(bad)}`" if bad is not None else ""
    return f'key{shown} must be a string; quote it (e.g. "{excerpt(bad)}")'


def _walk(raw: Any, path: DocPath) -> Any:
    for seg in path:
        raw = raw[seg]
    return raw


def _replace(raw: Any, path: DocPath, value: Any) -> Any:
    """A copy of ``raw`` with the value at ``path`` replaced (copies only along the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = list(raw) if isinstance(raw, list) else dict(raw)
    copy[head] = _replace(raw[head], rest, value)
    return copy


def _flatten(t: mi.Type) -> list[mi.Type]:
    if isinstance(t, mi.UnionType):
        return [leaf for member in t.types for leaf in _flatten(member)]
    return [t]


def _resolve(raw: Any, msg_path: str, error_text: str) -> tuple[DocPath, list[mi.Type]]:
    """Resolve a msgspec path against the document; also the types found there."""
    path: list[str | int] = []
    types = _flatten(mi.type_info(Descriptor))
    here = raw
    for field, index, hidden in (m.groups() for m in _SEGMENT.finditer(_tail(msg_path))):
        if field is not None:
            struct_fields = [f for t in types if isinstance(t, mi.StructType) for f in t.fields]
            types = [
                leaf for f in struct_fields if f.encode_name == field for leaf in _flatten(f.type)
            ]
            seg: str | int = field
        elif index is not None:
            types = [
                leaf for t in types if isinstance(t, mi.ListType) for leaf in _flatten(t.item_type)
            ]
            seg = int(index)
        else:
            assert hidden
            types = [
                leaf for t in types if isinstance(t, mi.DictType) for leaf in _flatten(t.value_type)
            ]
            key = _culprit_key(raw, tuple(path), here, error_text)
            if key is None:
                break
            seg = key
        if not isinstance(here, dict | list):
            break
        try:
            here = here[seg]
        except (LookupError, TypeError):
            break
        path.append(seg)
    return tuple(path), types


def _tail(msg_path: str) -> str:
    """The part of a msgspec path after ``$``."""
    return msg_path[1:] if msg_path.startswith("$") else msg_path


def _culprit_key(raw: Any, path: DocPath, mapping: Any, error_text: str) -> Any:
    """The key of ``mapping`` (at ``path``) whose entry alone reproduces the error."""
    if not isinstance(mapping, dict):
        return None
    for key, value in mapping.items():
        try:
            msgspec.convert(_replace(raw, path, {key: value}), Descriptor)
        except msgspec.ValidationError as err:
            if str(err) == error_text:
                return key
    return None
