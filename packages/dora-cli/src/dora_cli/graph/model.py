"""The drawable graph of a dataflow: vertices with ports, and labelled edges.

A vertex is a node (one box, whatever its kind), a timer interval, a ``dora/logs`` source
or the shared ``missing`` vertex for inputs whose producer cannot be found. Ports are the
input ids (left side) and output ids (right side) of a box; an operator's ports are
prefixed with its id when the node has several operators (``op/out``), as in the wire
form. The descriptor is expected module-expanded (as :func:`dora_message.load.load_descriptor`
returns it); a node's module, if any, shows in its tooltip. Should an unexpanded
``module:`` node come in, it is one box and any output read from it counts as its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dora_message.descriptor import Descriptor, Input, Node, Operator
from dora_message.sources import (
    LogsSource,
    TimerSource,
    UserSource,
    input_source_of,
    parse_input_source,
)
from dora_message.topics import DEFAULT_OPERATOR_ID

__all__ = [
    "DEFAULT_OPERATOR_ID",
    "MISSING",
    "Edge",
    "Graph",
    "ResolvedOutput",
    "Vertex",
    "build_graph",
    "operators_of",
    "resolve_output",
    "short_type_name",
]

VertexKind = Literal["node", "operator", "operators", "module", "ros2", "timer", "logs", "missing"]

#: Key of the vertex that stands for producers that do not exist.
MISSING = "missing"


@dataclass
class Vertex:
    """One box of the drawing."""

    key: str
    kind: VertexKind
    label: str
    detail: str | None = None
    tooltip: str | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    """A connection from ``source``'s port ``output`` to ``target``'s port ``input``.

    ``output`` is ``None`` for timers and log sources (they have a single unnamed port).
    """

    source: str
    output: str | None
    target: str
    input: str
    type_name: str | None = None

    @property
    def label(self) -> str:
        """``output → input`` (just one name when both are equal) plus ``[Type]``."""
        if self.output is None or self.output == self.input:
            text = self.input
        else:
            text = f"{self.output} → {self.input}"
        return f"{text} [{self.type_name}]" if self.type_name else text


@dataclass
class Graph:
    """Everything the renderers draw."""

    title: str
    vertices: list[Vertex]
    edges: list[Edge]


@dataclass(frozen=True)
class ResolvedOutput:
    """An existing output a ``node/output`` input reads from."""

    node: Node
    operator_id: str | None
    """The operator producing it, for ``operator:``/``operators:`` nodes."""
    output: str
    """The output id inside the node or operator (without operator prefix)."""
    type_urn: str | None


def short_type_name(urn: str) -> str:
    """``std/media/v1/Image`` → ``Image``; parameters stay: ``AudioFrame[rate=48000]``."""
    base, bracket, params = urn.partition("[")
    return base.rsplit("/", 1)[-1] + bracket + params


def operators_of(node: Node) -> list[tuple[str, Operator]]:
    """The operators of a runtime node with their ids (empty for other kinds)."""
    if node.operator is not None:
        return [(node.operator.id or DEFAULT_OPERATOR_ID, node.operator)]
    return [(op.id or DEFAULT_OPERATOR_ID, op) for op in node.operators or []]


def resolve_output(nodes: dict[str, Node], source: UserSource) -> ResolvedOutput | None:
    """Find the producer of ``source``, or ``None`` when it does not exist.

    A single-operator node may be addressed as ``node/out`` or ``node/<op>/out``; a
    multi-operator node only as ``node/<op>/out``.
    """
    node = nodes.get(source.node)
    if node is None:
        return None
    kind = node.kind
    if kind == "module":
        return ResolvedOutput(node, None, source.output, None)
    operators = operators_of(node)
    if kind in ("operator", "operators"):
        op_id, _, rest = source.output.partition("/")
        for candidate_id, op in operators:
            if candidate_id == op_id and rest in op.outputs:
                return ResolvedOutput(node, op_id, rest, (op.output_types or {}).get(rest))
        if kind == "operator":
            op_id, op = operators[0]
            if source.output in op.outputs:
                urn = (op.output_types or {}).get(source.output)
                return ResolvedOutput(node, op_id, source.output, urn)
        return None
    if source.output in node.outputs:
        urn = (node.output_types or {}).get(source.output)
        return ResolvedOutput(node, None, source.output, urn)
    return None


def build_graph(
    descriptor: Descriptor, title: str, modules: Mapping[str, list[str]] | None = None
) -> Graph:
    """The drawable graph of ``descriptor`` (vertices in descriptor order, then sources).

    ``modules`` maps top-level module ids to the node ids they expanded to.
    """
    nodes = {node.id: node for node in descriptor.nodes}
    vertices = {node.id: _node_vertex(node) for node in descriptor.nodes}
    for module_id, members in (modules or {}).items():
        for member in members:
            if member in vertices:
                vertex = vertices[member]
                note = f"module {module_id}"
                vertex.tooltip = f"{note}\n{vertex.tooltip}" if vertex.tooltip else note
    extra: dict[str, Vertex] = {}
    edges: list[Edge] = []
    for node in descriptor.nodes:
        for input_id, spec, input_types in _inputs_of(node):
            edge = _edge(nodes, vertices, extra, node.id, input_id, spec)
            if edge.type_name is None and input_id in input_types:
                edge = Edge(
                    edge.source,
                    edge.output,
                    edge.target,
                    edge.input,
                    short_type_name(input_types[input_id]),
                )
            edges.append(edge)
    return Graph(title, [*vertices.values(), *extra.values()], edges)


def _inputs_of(node: Node) -> list[tuple[str, Input, dict[str, str]]]:
    """(input port, spec, input_types with port-local keys) for every input of ``node``."""
    operators = operators_of(node)
    if not operators:
        types = node.input_types or {}
        return [(input_id, spec, types) for input_id, spec in node.inputs.items()]
    single = node.operator is not None
    found: list[tuple[str, Input, dict[str, str]]] = []
    for op_id, op in operators:
        types = op.input_types or {}
        for input_id, spec in op.inputs.items():
            port = input_id if single else f"{op_id}/{input_id}"
            found.append((port, spec, {port: types[input_id]} if input_id in types else {}))
    return found


def _node_vertex(node: Node) -> Vertex:
    tooltip = "\n".join(text for text in (node.name, node.description) if text) or None
    kind = node.kind
    operators = operators_of(node)
    if kind == "operator":
        op = operators[0][1]
        return Vertex(
            node.id,
            "operator",
            node.id,
            _operator_detail(op),
            tooltip,
            list(op.inputs),
            list(op.outputs),
        )
    if kind == "operators":
        inputs = [f"{op_id}/{i}" for op_id, op in operators for i in op.inputs]
        outputs = [f"{op_id}/{o}" for op_id, op in operators for o in op.outputs]
        detail = "operators: " + ", ".join(op_id for op_id, _ in operators)
        return Vertex(node.id, "operators", node.id, detail, tooltip, inputs, outputs)
    if kind == "module":
        detail = f"module: {node.module}"
        return Vertex(node.id, "module", node.id, detail, tooltip, list(node.inputs), [])
    if kind == "ros2":
        vertex_kind: VertexKind = "ros2"
        detail: str | None = "ros2 bridge"
    else:
        vertex_kind, detail = "node", node.path
    return Vertex(
        node.id, vertex_kind, node.id, detail, tooltip, list(node.inputs), list(node.outputs)
    )


def _operator_detail(op: Operator) -> str:
    python = op.python if isinstance(op.python, str) or op.python is None else op.python.source
    for kind, value in (("python", python), ("shared-library", op.shared_library)):
        if value:
            return f"operator ({kind}): {value}"
    return "operator"


def _edge(
    nodes: dict[str, Node],
    vertices: dict[str, Vertex],
    extra: dict[str, Vertex],
    target: str,
    input_id: str,
    spec: Input,
) -> Edge:
    text = input_source_of(spec)
    try:
        source = parse_input_source(text)
    except ValueError:
        source = None
    if isinstance(source, TimerSource):
        key = str(source)
        if key not in extra:
            interval = key.removeprefix("dora/timer/")
            extra[key] = Vertex(key, "timer", interval, "timer", key, [], [""])
        return Edge(key, None, target, input_id)
    if isinstance(source, LogsSource):
        key = str(source)
        if key not in extra:
            extra[key] = Vertex(key, "logs", key, "log messages", key, [], [""])
        return Edge(key, None, target, input_id)
    resolved = resolve_output(nodes, source) if isinstance(source, UserSource) else None
    if resolved is None:
        if MISSING not in extra:
            extra[MISSING] = Vertex(
                MISSING, "missing", "missing", "unknown producer", None, [], [""]
            )
        return Edge(MISSING, text, target, input_id)
    port = resolved.output
    if resolved.node.operators is not None and resolved.operator_id is not None:
        port = f"{resolved.operator_id}/{resolved.output}"
    vertex = vertices[resolved.node.id]
    if port not in vertex.outputs:
        vertex.outputs.append(port)  # a module's outputs are only known from their readers
    type_name = short_type_name(resolved.type_urn) if resolved.type_urn else None
    return Edge(resolved.node.id, port, target, input_id, type_name)
