"""Module ports: input maps of a node, interface checks, and who produces an output.

Shared by expansion and by the stand-alone module lint (``dora expand --module``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn

import msgspec

from dora_message._checks import Report, check_inputs, node_id_problem
from dora_message._docpath import DocPath
from dora_message.descriptor import Input, InputSpec, Node
from dora_message.errors import DescriptorError
from dora_message.modules.schema import MODULE_INPUT_SOURCE, Document, ModuleHeader
from dora_message.sources import UserSource, parse_input_source

# One place for the node rules: the validator's own checks of a module node.
from dora_message.validate import _check_node, _check_params

__all__ = [
    "EXCLUSIVE_WITH_MODULE",
    "InputMap",
    "check_interface",
    "check_module_node",
    "input_maps",
    "producers",
    "produces",
    "replace_input",
    "source_of",
    "undeclared_mod_ref",
]

Fail = Callable[[DocPath, str], NoReturn]

#: Keys that make no sense beside ``module:`` (checked at every nesting level).
EXCLUSIVE_WITH_MODULE = (
    "path",
    "args",
    "path_sha256",
    "git",
    "hub",
    "branch",
    "tag",
    "rev",
    "operators",
    "operator",
    "ros2",
)

#: ``(path below the node, the map)`` for every input map of a node.
InputMap = tuple[DocPath, dict[str, Input]]


def input_maps(node: Node) -> Iterator[InputMap]:
    """The node's own inputs, its ``operator:`` inputs and each ``operators[]`` inputs."""
    yield ("inputs",), node.inputs
    if node.operator is not None:
        yield ("operator", "inputs"), node.operator.inputs
    for index, op in enumerate(node.operators or []):
        yield ("operators", index, "inputs"), op.inputs


def source_of(spec: Input) -> UserSource | None:
    """The user source of an input, ``None`` for timers, logs and unparsable text."""
    try:
        source = parse_input_source(spec if isinstance(spec, str) else spec.source)
    except ValueError:
        return None  # reported by the descriptor validator with its place
    return source if isinstance(source, UserSource) else None


def undeclared_mod_ref(header: ModuleHeader, node_id: str, input_id: str, port: str) -> str:
    """The message for a ``_mod/<port>`` that the header does not declare."""
    return (
        f"module `{header.name}`: node `{node_id}` input `{input_id}` references "
        f"`{MODULE_INPUT_SOURCE}/{port}` but `{port}` is not declared in module inputs or "
        "inputs_optional"
    )


def check_module_node(node: Node, here: DocPath, doc: Document, *, top_level: bool) -> None:
    """The use-site checks of a module node, before its file is read.

    A top-level module node gets the validator's full node checks (allowed fields,
    params, inputs); a nested one only the keys exclusive with ``module:`` (so it may
    carry ``build:``), its id, params and inputs.
    """
    report = Report(list(doc.node_ids), doc.file)
    try:
        if top_level:
            _check_node(report, here, node)
            return
        problem = node_id_problem(node.id)
        if problem:
            report.fail((*here, "id"), problem)
        clash = [key for key in EXCLUSIVE_WITH_MODULE if getattr(node, key) is not None]
        if clash:
            report.fail((*here, clash[0]), f"`module:` cannot be combined with {', '.join(clash)}")
        _check_params(report, here, node)
        check_inputs(report, here, node.inputs)
    except DescriptorError as err:
        raise doc.relocate(err) from None


def check_interface(header: ModuleHeader, node: Node, here: DocPath, fail: Fail) -> None:
    """Every required input wired by the module node; every wired input declared."""
    for port in header.inputs:
        if port not in node.inputs:
            fail(
                (*here, "inputs"),
                f"module `{header.name}` declares required input `{port}` but node "
                f"`{node.id}` does not provide it; hint: add `{port}: <source_node>/<output>` "
                "to its inputs",
            )
    declared = header.ports
    for port in node.inputs:
        if port not in declared:
            listing = ", ".join(f"`{p}`" for p in declared) or "none"
            fail(
                (*here, "inputs", port),
                f"module `{header.name}` does not declare input `{port}` provided by node "
                f"`{node.id}`; declared inputs are: {listing}",
            )


def producers(
    nodes: list[Node], output: str, nested: Mapping[str, Mapping[str, str]], prefix: str = ""
) -> list[str]:
    """Mapping strings of the direct children that produce ``output``.

    ``nested`` maps a nested module child's id (as given, before ``prefix``) to its
    declared outputs and their sources. Single-operator outputs use the short
    ``<id>/<out>`` form; multi-operator ones ``<id>/<op>/<out>``.
    """
    found: list[str] = []
    for node in nodes:
        node_id = prefix + node.id
        if node.module is not None:
            if output in nested.get(node.id, {}):
                found.append(nested[node.id][output])
        elif node.operators is not None:
            found += [
                f"{node_id}/{op.id}/{output}" for op in node.operators if output in op.outputs
            ]
        elif node.operator is not None:
            if output in node.operator.outputs:
                found.append(f"{node_id}/{output}")
        elif output in node.outputs:
            found.append(f"{node_id}/{output}")
    return found


def produces(node: Node, output: str, nested_outputs: list[str] | None) -> bool:
    """Whether a sibling can be read as ``<node>/<output>`` inside the module."""
    if node.module is not None:
        return nested_outputs is not None and output in nested_outputs
    if node.operators is not None:
        op_id, _, name = output.partition("/")
        return any(op.id == op_id and name in op.outputs for op in node.operators)
    if node.operator is not None:
        op_id = node.operator.id or "op"
        name = output[len(op_id) + 1 :] if output.startswith(f"{op_id}/") else output
        return name in node.operator.outputs or output in node.operator.outputs
    return output in node.outputs


def replace_input(spec: Input, source: str, binding: Input | None = None) -> Input:
    """``spec`` pointed at ``source``; queue options from ``spec``, else ``binding``."""
    own = spec if not isinstance(spec, str) else None
    bound = binding if binding is not None and not isinstance(binding, str) else None
    options = {}
    for key in ("queue_size", "queue_policy", "input_timeout"):
        value = getattr(own, key, None)
        if value is None:
            value = getattr(bound, key, None)
        if value is not None:
            options[key] = value
    if not options:
        return source
    return msgspec.convert({"source": source, **options}, InputSpec)
