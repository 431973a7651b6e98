"""Module expansion: replace every ``module:`` node by the nodes of its module file.

Runs at load time, before the descriptor validator, so every command sees a flat
dataflow. Inner ids become ``<module_id>.<inner_id>`` (dot-joined when nested);
consumers outside keep writing ``<module_id>/<declared output>`` and are rewritten to
the single inner producer. Errors are :class:`DescriptorError` naming the file and the
place (the use site, or the spot inside the module file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dora_message._docpath import DocPath
from dora_message.descriptor import Descriptor, Input, Node
from dora_message.descriptor_limits import MAX_NAME_BYTES
from dora_message.modules.ports import (
    check_interface,
    check_module_node,
    input_maps,
    producers,
    replace_input,
    source_of,
)
from dora_message.modules.rewrite import Instance, instantiate, param_values, with_build
from dora_message.modules.schema import MAX_MODULE_DEPTH, Document, read_module
from dora_message.quote import excerpt

__all__ = ["Expansion", "expand_modules", "expand_with_boundaries"]


@dataclass
class Expansion:
    """The flat descriptor and, per top-level module id, the node ids it became."""

    descriptor: Descriptor
    boundaries: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Placed:
    """A flat node and where its definition is written (for error messages)."""

    node: Node
    doc: Document
    path: DocPath


def expand_modules(
    descriptor: Descriptor,
    file: str | os.PathLike[str] | None = None,
    text: str | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> Descriptor:
    """``descriptor`` with every module node expanded (the same object if there are none).

    Module paths resolve against ``base_dir``, by default the directory of ``file``
    (the dataflow), else the working directory. ``text`` (the dataflow YAML) only adds
    line numbers to errors.
    """
    return expand_with_boundaries(descriptor, file, text, base_dir=base_dir).descriptor


def expand_with_boundaries(
    descriptor: Descriptor,
    file: str | os.PathLike[str] | None = None,
    text: str | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> Expansion:
    """Like :func:`expand_modules`, also saying which flat nodes each module became."""
    if not any(node.module is not None for node in descriptor.nodes):
        return Expansion(descriptor)
    name = os.fspath(file) if file is not None else None
    if base_dir is None:
        base_dir = Path(name).parent if name else Path.cwd()
    doc = Document(name, text, tuple(node.id for node in descriptor.nodes))
    for index, node in enumerate(descriptor.nodes):
        if node.module is not None:
            check_module_node(node, ("nodes", index), doc, top_level=True)
    expander = _Expander(Path(base_dir).resolve())
    placed: list[_Placed] = []
    boundaries: dict[str, list[str]] = {}
    for index, node in enumerate(descriptor.nodes):
        here: DocPath = ("nodes", index)
        if node.module is None:
            placed.append(_Placed(node, doc, here))
            continue
        leaves = expander.expand(node, doc, here, expander.project, 0, ())
        boundaries[node.id] = [leaf.node.id for leaf in leaves]
        placed += leaves
    nodes = expander.resolve_module_refs(placed)
    seen: set[str] = set()
    for item in placed:
        if item.node.id in seen:
            item.doc.fail(
                (*item.path, "id"),
                f"duplicate node ID `{item.node.id}` after module expansion; check for "
                "conflicting node names across modules and top-level nodes",
            )
        seen.add(item.node.id)
    return Expansion(msgspec.structs.replace(descriptor, nodes=nodes), boundaries)


class _Expander:
    def __init__(self, project: Path) -> None:
        self.project = project
        # full module-node id -> declared output -> mapping string of the producer
        self.outputs: dict[str, dict[str, str]] = {}

    def expand(
        self,
        node: Node,
        doc: Document,
        here: DocPath,
        containing_dir: Path,
        depth: int,
        stack: tuple[Path, ...],
    ) -> list[_Placed]:
        """The flat nodes that module node ``node`` (at ``here`` in ``doc``) stands for."""
        assert node.module is not None
        where: DocPath = (*here, "module")
        if depth >= MAX_MODULE_DEPTH:
            doc.fail(
                where,
                f"module nesting exceeds depth limit of {MAX_MODULE_DEPTH}",
            )
        canonical = self._locate(node, doc, where, containing_dir)
        if canonical in stack:
            chain = " -> ".join(str(p) for p in (*stack, canonical))
            doc.fail(
                where,
                f"circular module reference detected: {chain}; "
                "hint: check that module files do not reference each other in a cycle",
            )
        module = read_module(canonical)
        header = module.header
        check_interface(header, node, here, doc.fail_plain)
        mdoc = module.doc
        local_ids = [inner.id for inner in module.nodes]
        for index, local in enumerate(local_ids):
            if local in local_ids[:index]:
                mdoc.fail(("nodes", index, "id"), f"duplicate node id `{local}` in the module")
        instance = Instance(
            module_id=node.id,
            binding=node,
            header=header,
            local_ids=frozenset(local_ids),
            params=param_values(node, doc.fail, here),
            module_dir=canonical.parent,
            project=self.project,
            build=module.build,
        )
        placed: list[_Placed] = []
        nested: dict[str, dict[str, str]] = {}
        for index, inner in enumerate(module.nodes):
            inner_here: DocPath = ("nodes", index)
            if inner.module is not None:
                check_module_node(inner, inner_here, mdoc, top_level=False)
            flat = instantiate(inner, inner_here, instance, mdoc.fail_plain)
            if flat.module is None:
                placed.append(_Placed(flat, mdoc, inner_here))
                continue
            leaves = self.expand(
                flat, mdoc, inner_here, canonical.parent, depth + 1, (*stack, canonical)
            )
            # The nested node's accumulated build runs before each of its leaves' own.
            placed += [_Placed(with_build(p.node, flat.build), p.doc, p.path) for p in leaves]
            nested[inner.id] = self.outputs[flat.id]
        declared: dict[str, str] = {}
        for index, output in enumerate(header.outputs):
            found = producers(module.nodes, output, nested, prefix=f"{node.id}.")
            if len(found) != 1:
                what = (
                    f"multiple inner nodes produce it: {', '.join(found)}"
                    if found
                    else "no inner node produces it"
                )
                mdoc.fail(
                    ("module", "outputs", index),
                    f"module `{header.name}` declares output `{output}` but {what}",
                )
            declared[output] = found[0]
        self.outputs[node.id] = declared
        return placed

    def _locate(self, node: Node, doc: Document, where: DocPath, containing_dir: Path) -> Path:
        text = node.module or ""
        if text.startswith("/") or os.path.isabs(text):
            doc.fail(where, f"module path `{excerpt(text)}` must be relative")
        long = next((p for p in text.split("/") if len(p.encode()) > MAX_NAME_BYTES), None)
        if long is not None:
            doc.fail(
                where,
                f"module path `{excerpt(text)}`: the name `{excerpt(long)}` is longer than "
                f"{MAX_NAME_BYTES} bytes, more than a file name may be",
            )
        target = containing_dir / text
        try:  # is_file() raises for names the OS refuses (NUL, too long), not only ENOENT
            found = target.is_file()
            canonical = target.resolve() if found else target
        except (OSError, ValueError) as err:
            doc.fail(where, f"module path `{excerpt(text)}` cannot be used: {excerpt(err)}")
        if not found:
            doc.fail(where, f"module file not found: {excerpt(target, 300)}")
        if not canonical.is_relative_to(self.project):
            doc.fail(
                where,
                f"module path `{excerpt(text)}` escapes the project directory {self.project}",
            )
        return canonical

    def resolve_module_refs(self, placed: list[_Placed]) -> list[Node]:
        """Point every ``<module_id>/<out>`` input at the producing inner node."""
        nodes: list[Node] = []
        for item in placed:
            node = msgspec.structs.replace(item.node)
            if node.operator is not None:
                node.operator = msgspec.structs.replace(node.operator)
            if node.operators is not None:
                node.operators = [msgspec.structs.replace(op) for op in node.operators]
            owners = [node] + ([node.operator] if node.operator is not None else [])
            owners += node.operators or []
            for owner, (sub, _) in zip(owners, input_maps(node), strict=True):
                owner.inputs = self._rewrite(owner.inputs, node.id, item, sub)
            nodes.append(node)
        return nodes

    def _rewrite(
        self, inputs: dict[str, Input], node_id: str, item: _Placed, sub: DocPath
    ) -> dict[str, Input]:
        result: dict[str, Input] = {}
        for input_id, spec in inputs.items():
            source = source_of(spec)
            outputs = self.outputs.get(source.node) if source is not None else None
            if source is None or outputs is None:
                result[input_id] = spec
                continue
            if source.output not in outputs:
                item.doc.fail_plain(
                    (*item.path, *sub, input_id),
                    f"node `{node_id}` references `{source}` but module `{source.node}` does "
                    f"not declare output `{source.output}`"
                    + (f"; declared outputs are: {', '.join(outputs)}" if outputs else ""),
                )
            result[input_id] = replace_input(spec, outputs[source.output])
        return result
