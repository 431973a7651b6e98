"""``dora expand --module FILE``: check one module file on its own, recursively.

Checks the header, that every ``_mod/<port>`` is declared, that inner ids are unique,
that references to sibling outputs exist, that nested modules are relative, exist, are
wired and valid themselves (no cycles, depth below 8), and that every declared output
has exactly one producer. There is no project directory here, so containment is not
checked (expansion checks it).
"""

from __future__ import annotations

import os
from pathlib import Path

from dora_message.descriptor import Node
from dora_message.errors import DescriptorError
from dora_message.modules.ports import (
    check_interface,
    check_module_node,
    input_maps,
    producers,
    produces,
    source_of,
    undeclared_mod_ref,
)
from dora_message.modules.schema import (
    MAX_MODULE_DEPTH,
    MODULE_INPUT_SOURCE,
    ModuleHeader,
    ModuleSource,
    read_module,
)

__all__ = ["lint_module_file"]


def lint_module_file(path: str | os.PathLike[str]) -> ModuleHeader:
    """Check the module file at ``path``; return its header, raise ``DescriptorError``."""
    target = Path(path)
    if not target.is_file():
        raise DescriptorError(f"module file not found: {target}", file=str(target))
    return _lint(target.resolve(), 0, ())


def _lint(canonical: Path, depth: int, stack: tuple[Path, ...]) -> ModuleHeader:
    module = read_module(canonical)
    doc, header = module.doc, module.header
    local: dict[str, Node] = {}
    for index, inner in enumerate(module.nodes):
        if inner.id in local:
            doc.fail(("nodes", index, "id"), f"duplicate node id `{inner.id}` in the module")
        local[inner.id] = inner
    nested: dict[str, dict[str, str]] = {}
    for index, inner in enumerate(module.nodes):
        if inner.module is None:
            continue
        here = ("nodes", index)
        check_module_node(inner, here, doc, top_level=False)
        where = (*here, "module")
        if inner.module.startswith("/") or os.path.isabs(inner.module):
            doc.fail(where, f"nested module path `{inner.module}` must be relative")
        target = canonical.parent / inner.module
        if not target.is_file():
            doc.fail(where, f"nested module file not found: {target}")
        resolved = target.resolve()
        if resolved in (*stack, canonical):
            chain = " -> ".join(str(p) for p in (*stack, canonical, resolved))
            doc.fail(where, f"circular module reference detected: {chain}")
        if depth + 1 >= MAX_MODULE_DEPTH:
            doc.fail(where, f"module nesting exceeds depth limit of {MAX_MODULE_DEPTH}")
        nested_header = _lint(resolved, depth + 1, (*stack, canonical))
        check_interface(nested_header, inner, here, doc.fail_plain)
        nested[inner.id] = {o: f"{inner.id}/{o}" for o in nested_header.outputs}
    _check_references(module, local, nested)
    for index, output in enumerate(header.outputs):
        found = producers(module.nodes, output, nested)
        if len(found) != 1:
            what = (
                f"multiple inner nodes produce it: {', '.join(found)}"
                if found
                else "no inner node produces it"
            )
            doc.fail(
                ("module", "outputs", index),
                f"module `{header.name}` declares output `{output}` but {what}",
            )
    return header


def _check_references(
    module: ModuleSource, local: dict[str, Node], nested: dict[str, dict[str, str]]
) -> None:
    doc, header = module.doc, module.header
    for index, inner in enumerate(module.nodes):
        for sub, inputs in input_maps(inner):
            for input_id, spec in inputs.items():
                source = source_of(spec)
                if source is None:
                    continue
                here = ("nodes", index, *sub, input_id)
                if source.node == MODULE_INPUT_SOURCE:
                    if source.output not in header.ports:
                        doc.fail(
                            here, undeclared_mod_ref(header, inner.id, input_id, source.output)
                        )
                elif source.node in local:
                    outputs = list(nested[source.node]) if source.node in nested else None
                    if not produces(local[source.node], source.output, outputs):
                        doc.fail_plain(
                            here,
                            f"module `{header.name}`: node `{inner.id}` input `{input_id}` "
                            f"references `{source}` but that output is not produced",
                        )
