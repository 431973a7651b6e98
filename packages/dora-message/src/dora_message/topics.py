"""Topics of a dataflow in plain-dict form (raw YAML, or a stored descriptor's builtins).

A topic is an output in public form: ``node/output``, and ``node/operator/output`` for
nodes with several ``operators:`` (a single ``operator:`` uses the bare output name).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_OPERATOR_ID = "op"
"""The id of a single ``operator:`` that names none."""


def _names(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def node_parts(node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(prefix, mapping)`` for the node itself, its ``operator`` and each ``operators``."""
    yield "", node
    operator = node.get("operator")
    if isinstance(operator, Mapping):
        yield "", operator
    operators = node.get("operators")
    if isinstance(operators, list):
        for op in operators:
            if isinstance(op, Mapping):
                yield f"{op.get('id')}/", op


def node_outputs(node: Mapping[str, Any]) -> list[str]:
    """A node's outputs in public form."""
    return [
        prefix + out for prefix, part in node_parts(node) for out in _names(part.get("outputs"))
    ]


def node_inputs(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A node's ``(input id, source)`` pairs, input ids in public form."""
    pairs = []
    for prefix, part in node_parts(node):
        inputs = part.get("inputs")
        if not isinstance(inputs, Mapping):
            continue
        for input_id, spec in inputs.items():
            source = spec.get("source") if isinstance(spec, Mapping) else spec
            if isinstance(source, str):
                pairs.append((prefix + str(input_id), source))
    return pairs


def dataflow_nodes(doc: Any) -> list[Mapping[str, Any]]:
    """The node mappings of a dataflow document (empty when it has none)."""
    nodes = doc.get("nodes") if isinstance(doc, Mapping) else None
    return [n for n in nodes if isinstance(n, Mapping)] if isinstance(nodes, list) else []


def topic_subscribers(doc: Any) -> dict[str, list[str]]:
    """Every topic of the dataflow -> the ``node/input`` reading it, in descriptor order."""
    nodes = dataflow_nodes(doc)
    topics: dict[str, list[str]] = {
        f"{node.get('id')}/{output}": [] for node in nodes for output in node_outputs(node)
    }
    for node in nodes:
        for input_id, source in node_inputs(node):
            readers = topics.get(source)
            if readers is not None:
                readers.append(f"{node.get('id')}/{input_id}")
    return topics


def wire_output(node: Mapping[str, Any], output: str) -> str:
    """The output id a node really sends on, for a public one: a single ``operator:``
    node sends ``<operator id>/<output>``; every other node sends what it declares."""
    operator = node.get("operator")
    if isinstance(operator, Mapping) and not node.get("operators"):
        return f"{operator.get('id') or DEFAULT_OPERATOR_ID}/{output}"
    return output
