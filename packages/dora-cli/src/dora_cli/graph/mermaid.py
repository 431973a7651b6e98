"""Mermaid flowchart text of a dataflow, in the shape upstream's ``dora graph --mermaid`` uses.

Nodes are listed sorted by id (first one subgraph per top-level module holding the nodes it
expanded to), then one ``dora`` subgraph holding the timers in use, then one edge line per
input (inputs sorted by id). Shapes: a node without inputs is drawn as
a source ``[\\…/]``, one without outputs as a sink ``[/…\\]``. A single ``operator:`` node
is addressed as ``node/op``; a node with several operators becomes a subgraph of them.

One addition to upstream: an edge also gets a type label from the consumer's
``input_types`` when the producer's ``output_types`` has none.
"""

from __future__ import annotations

from collections.abc import Mapping

from dora_cli.graph.model import DEFAULT_OPERATOR_ID, operators_of, resolve_output, short_type_name
from dora_message.descriptor import Descriptor, Input, Node
from dora_message.sources import (
    LogsSource,
    TimerSource,
    UserSource,
    input_source_of,
    parse_input_source,
)

__all__ = ["render_mermaid"]


def render_mermaid(descriptor: Descriptor, modules: Mapping[str, list[str]] | None = None) -> str:
    """The flowchart text (ends with a newline) of a module-expanded ``descriptor``.

    ``modules`` maps each top-level module id to the ids of the nodes it expanded to.
    """
    nodes = sorted(descriptor.nodes, key=lambda node: node.id)
    by_id = {node.id: node for node in descriptor.nodes}
    lines = ["flowchart TB"]
    in_module: set[str] = set()
    for module_id, members in (modules or {}).items():
        lines.append(f"subgraph {module_id.replace('.', '_')} [{module_id}]")
        for node in nodes:
            if node.id in members:
                lines += _node_lines(node)
        lines.append("end")
        in_module.update(members)
    for node in nodes:
        if node.id not in in_module:
            lines += _node_lines(node)
    timers = sorted(
        {
            source.interval_ns
            for node in nodes
            for _, spec, _ in _inputs(node)
            if isinstance(source := _parse(spec), TimerSource)
        }
    )
    if timers:
        lines += ["subgraph ___dora___ [dora]", "  subgraph ___timer_timer___ [timer]"]
        for interval_ns in timers:
            text = str(TimerSource(interval_ns)).removeprefix("dora/timer/")
            lines.append(f"    dora/timer/{text}[\\{text}/]")
        lines += ["  end", "end"]
    for node in nodes:
        for target, spec, (input_id, input_type) in _inputs(node):
            lines.append(_edge_line(by_id, target, input_id, input_type, spec))
    return "\n".join(lines) + "\n"


def _label(node: Node) -> str:
    description = node.description.replace('"', "#quot;") if node.description else None
    return f"**{node.id}**" + (f"<hr/>*{description}*" if description else "")


def _shape(text: str, has_inputs: bool, has_outputs: bool) -> str:
    if not has_inputs:
        return f"[\\{text}/]"
    if not has_outputs:
        return f"[/{text}\\]"
    return f"[{text}]"


def _node_lines(node: Node) -> list[str]:
    operators = operators_of(node)
    if not operators:
        shape = _shape(f'"{_label(node)}"', bool(node.inputs), bool(node.outputs))
        return [f"  {node.id}{shape}"]
    if len(operators) == 1 and operators[0][0] == DEFAULT_OPERATOR_ID:
        op = operators[0][1]
        return [f"  {node.id}/op{_shape(node.id, bool(op.inputs), bool(op.outputs))}"]
    lines = [f"subgraph {node.id}"]
    for op_id, op in operators:
        lines.append(f"  {node.id}/{op_id}{_shape(op_id, bool(op.inputs), bool(op.outputs))}")
    lines.append("end")
    return lines


def _inputs(node: Node) -> list[tuple[str, Input, tuple[str, str | None]]]:
    """(edge target, input spec, (input id, input type URN)) in upstream's order."""
    operators = operators_of(node)
    if not operators:
        types = node.input_types or {}
        return [
            (node.id, node.inputs[input_id], (input_id, types.get(input_id)))
            for input_id in sorted(node.inputs)
        ]
    found = []
    for op_id, op in operators:
        types = op.input_types or {}
        for input_id in sorted(op.inputs):
            target = f"{node.id}/{op_id}"
            found.append((target, op.inputs[input_id], (input_id, types.get(input_id))))
    return found


def _parse(spec: Input) -> TimerSource | LogsSource | UserSource | None:
    try:
        return parse_input_source(input_source_of(spec))
    except ValueError:
        return None


def _edge_line(
    nodes: dict[str, Node], target: str, input_id: str, input_type: str | None, spec: Input
) -> str:
    source = _parse(spec)
    if isinstance(source, TimerSource | LogsSource):
        return f"  {source} -- {input_id} --> {target}"
    resolved = resolve_output(nodes, source) if isinstance(source, UserSource) else None
    if resolved is None:
        return f"  missing>missing] -- {input_id} --> {target}"
    urn = resolved.type_urn or input_type
    type_label = f" [{short_type_name(urn)}]" if urn else ""
    output = resolved.output
    data = output if output == input_id else f"{output} as {input_id}"
    producer = resolved.node.id
    if resolved.operator_id is not None:
        producer = f"{producer}/{resolved.operator_id}"
    return f"  {producer} -- {data}{type_label} --> {target}"
