"""Module files: their schema, reading them, and errors that point into them.

A module file holds ``module:`` (the header: ``name``, ``inputs``, ``inputs_optional``,
``outputs``), ``nodes:`` (ordinary node definitions) and an optional ``build:``. Any
other key, at the top or in the header, is refused. Files are limited to 1 MiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import msgspec

from dora_message._checks import data_id_problem, suggest
from dora_message._convert_errors import describe_validation_error
from dora_message._docpath import DocPath, format_path, node_prefix, parse_path, yaml_line
from dora_message.descriptor import Descriptor, Node
from dora_message.errors import DescriptorError
from dora_message.quote import excerpt
from dora_message.yaml_load import load_yaml_mapping

__all__ = [
    "MAX_MODULE_DEPTH",
    "MAX_MODULE_FILE_SIZE",
    "MODULE_INPUT_SOURCE",
    "Document",
    "ModuleHeader",
    "ModuleSource",
    "read_module",
]

MAX_MODULE_DEPTH = 8
MAX_MODULE_FILE_SIZE = 1 << 20
#: Source node name that, inside a module file, means "this module's input port".
MODULE_INPUT_SOURCE = "_mod"

_FILE_KEYS = ("module", "nodes", "build")


class ModuleHeader(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``module:`` block of a module file."""

    name: str
    inputs: list[str] = msgspec.field(default_factory=list)
    inputs_optional: list[str] = msgspec.field(default_factory=list)
    outputs: list[str] = msgspec.field(default_factory=list)

    @property
    def ports(self) -> list[str]:
        """Required and optional input ports."""
        return [*self.inputs, *self.inputs_optional]


@dataclass(frozen=True)
class Document:
    """A YAML file errors can point into (``text`` gives them line numbers)."""

    file: str | None
    text: str | None
    node_ids: tuple[object, ...] = ()

    def fail(self, path: DocPath, message: str) -> NoReturn:
        """Raise ``message`` at ``path`` of this document, with its line when known."""
        raise self.error(path, node_prefix(path, self.node_ids) + message)

    def fail_plain(self, path: DocPath, message: str) -> NoReturn:
        """Like :meth:`fail`, for messages that already name the node."""
        raise self.error(path, message)

    def error(self, path: DocPath, message: str) -> DescriptorError:
        """The error for ``message`` at ``path`` (``message`` used as is)."""
        line = yaml_line(self.text, path) if self.text and path else None
        suffix = f" (line {line})" if line is not None else ""
        return DescriptorError(message + suffix, format_path(path), self.file)

    def relocate(self, err: DescriptorError) -> DescriptorError:
        """``err`` (raised with a path into this document) with its line added."""
        path = parse_path(err.path)
        if not self.text or not path or "(line " in err.message:
            return err
        return self.error(path, err.message)


@dataclass(frozen=True)
class ModuleSource:
    """A parsed module file."""

    path: Path  # canonical
    doc: Document
    header: ModuleHeader
    nodes: list[Node]
    build: str | None


def read_module(path: Path) -> ModuleSource:
    """Read and check the module file at ``path`` (already canonical)."""
    file = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_MODULE_FILE_SIZE + 1)
    except OSError as err:
        raise DescriptorError(
            f"cannot read module file: {err.strerror or err}", file=file
        ) from None
    if len(data) > MAX_MODULE_FILE_SIZE:
        raise DescriptorError(
            f"module file too large (over the {MAX_MODULE_FILE_SIZE} byte limit)", file=file
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DescriptorError(f"module file is not UTF-8: {err}", file=file) from None
    if not text.strip():
        raise DescriptorError(
            "the module file is empty; it needs `module:` and `nodes:`", file=file
        )
    raw = load_yaml_mapping(text, file)
    raw_nodes = raw.get("nodes")
    ids = tuple(n.get("id") if isinstance(n, dict) else None for n in raw_nodes or [])
    doc = Document(file, text, ids)
    for key in raw:
        if key not in _FILE_KEYS:
            doc.fail(
                (str(key),),
                f"unknown key `{excerpt(key)}` in a module file (allowed: module, nodes, build)"
                + suggest(str(key), _FILE_KEYS),
            )
    if "module" not in raw:
        doc.fail((), "missing required key `module` (the header with name, inputs, outputs)")
    if raw_nodes is None:
        doc.fail((), "missing required key `nodes` (the nodes of the module)")
    build = raw.get("build")
    if build is not None and not isinstance(build, str):
        doc.fail(("build",), "`build` must be a string (shell commands, one per line)")
    header = _header(doc, raw["module"])
    return ModuleSource(path, doc, header, _nodes(doc, raw_nodes), build)


def _header(doc: Document, raw: Any) -> ModuleHeader:
    try:
        header = msgspec.convert(raw, ModuleHeader)
    except msgspec.ValidationError as err:
        text = str(err)
        if found := _match(r"Object contains unknown field `(.*)`", text):
            doc.fail(
                ("module", found),
                f"unknown key `{found}` in the module header"
                + suggest(found, ("name", "inputs", "inputs_optional", "outputs")),
            )
        if found := _match(r"Object missing required field `(.*)`", text):
            doc.fail(("module",), f"missing required key `{found}` in the module header")
        doc.fail(("module",), f"invalid module header: {text}")
    seen: dict[str, str] = {}
    for listing in ("inputs", "inputs_optional", "outputs"):
        ports: list[str] = getattr(header, listing)
        for index, port in enumerate(ports):
            here: DocPath = ("module", listing, index)
            problem = data_id_problem(port, "port")
            if problem:
                doc.fail(here, problem)
            if port in ports[:index]:
                doc.fail(here, f"port `{port}` is listed twice in `{listing}`")
            if listing != "outputs":
                if port in seen and seen[port] != listing:
                    doc.fail(here, f"input `{port}` is both required and optional; keep one")
                seen[port] = listing
    return header


def _nodes(doc: Document, raw_nodes: Any) -> list[Node]:
    wrapped = {"nodes": raw_nodes}
    try:
        return msgspec.convert(wrapped, Descriptor).nodes
    except msgspec.ValidationError as err:
        path, message = describe_validation_error(wrapped, err)
        doc.fail(path, message)


def _match(pattern: str, text: str) -> str | None:
    found = re.match(pattern, text)
    return found.group(1) if found else None
