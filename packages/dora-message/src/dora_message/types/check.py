"""Static type checks of an (expanded) dataflow: the warnings of ``dora validate``/``build``.

Checks (spec A6.1): annotation keys name real ports; every URN resolves; output_metadata
keys name real outputs; ``pattern`` is known; connected edges are compatible (with a
field-level explanation for structs); timer inputs are ``std/core/v1/UInt64``; types are
inferred downstream when only the producer annotates; in strict mode an annotated input
fed by an unannotated output is reported. Everything is a warning: the caller decides
whether warnings fail (``--strict-types`` / ``strict_types: true``).

Pure except for reading the ``types/`` folder beside the dataflow.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dora_message.descriptor import Descriptor, Input, Node, Operator
from dora_message.sources import LogsSource, TimerSource, UserSource, parse_input_source
from dora_message.types.arrow import ArrowType
from dora_message.types.compat import BYTES, PATTERN_KEYS, TIMER_TYPE, CompatibilityGraph
from dora_message.types.registry import TypeRegistry
from dora_message.types.urn import parse_urn

__all__ = ["Inference", "TypeReport", "TypeWarning", "analyze_types", "check_types"]


@dataclass(frozen=True)
class TypeWarning:
    """One problem with the type annotations.

    ``node`` is the node id, or ``node/op-id`` for an entry of ``operators:``; ``port``
    the input or output concerned; ``fix`` what to change.
    """

    node: str
    port: str | None
    message: str
    fix: str | None = None
    check: str = ""

    def __str__(self) -> str:
        hint = f"; hint: {self.fix}" if self.fix else ""
        return f'node "{self.node}": {self.message}{hint}'


@dataclass(frozen=True)
class Inference:
    """A type taken from the producer for an unannotated input."""

    node: str
    input: str
    urn: str
    source: str

    def __str__(self) -> str:
        return f"inferred {self.urn} on {self.node}/{self.input} (from {self.source})"


@dataclass
class TypeReport:
    """Everything the type pass found."""

    warnings: list[TypeWarning] = field(default_factory=list)
    inferred: list[Inference] = field(default_factory=list)
    user_types: int = 0


@dataclass(frozen=True)
class _Ports:
    """The annotated ports of a node or of one operator."""

    label: str
    inputs: dict[str, Input]
    outputs: list[str]
    input_types: dict[str, str]
    output_types: dict[str, str]
    output_metadata: dict[str, list[str]]
    pattern: str | None
    operator: bool  # annotations live in an operator block


def check_types(
    descriptor: Descriptor,
    base_dir: str | os.PathLike[str] | None = None,
    *,
    strict: bool | None = None,
) -> list[TypeWarning]:
    """The type warnings of ``descriptor``; user types come from ``base_dir/types``."""
    return analyze_types(descriptor, base_dir, strict=strict).warnings


def analyze_types(
    descriptor: Descriptor,
    base_dir: str | os.PathLike[str] | None = None,
    *,
    strict: bool | None = None,
    registry: TypeRegistry | None = None,
) -> TypeReport:
    """Run every type check; also report inferred types and how many user types loaded.

    ``strict`` defaults to the descriptor's ``strict_types``; it only adds the
    "upstream has no type annotation" check. Raises ``DescriptorError`` when the
    ``types/`` folder cannot be loaded.
    """
    registry = registry or TypeRegistry()
    report = TypeReport()
    if base_dir is not None:
        report.user_types = registry.load_dir(Path(base_dir) / "types")
    if strict is None:
        strict = bool(descriptor.strict_types)
    rules = [(rule.from_, rule.to) for rule in descriptor.type_rules or []]
    checker = _Checker(registry, CompatibilityGraph(rules), report)
    owners = list(_owners(descriptor.nodes))
    for ports in owners:
        checker.check_ports(ports)
    produced = _produced_types(descriptor.nodes)
    for ports in owners:
        checker.check_edges(ports, produced, strict)
    return report


def _owners(nodes: Iterable[Node]) -> Iterator[_Ports]:
    for node in nodes:
        if node.operator is not None:
            yield _ports(node.id, node.operator)
        elif node.operators is not None:
            for op in node.operators:
                yield _ports(f"{node.id}/{op.id}", op)
        else:
            yield _ports(node.id, node)


def _ports(label: str, owner: Node | Operator) -> _Ports:
    return _Ports(
        label=label,
        inputs=owner.inputs,
        outputs=owner.outputs,
        input_types=owner.input_types or {},
        output_types=owner.output_types or {},
        output_metadata=owner.output_metadata or {},
        pattern=owner.pattern,
        operator=isinstance(owner, Operator),
    )


def _produced_types(nodes: Iterable[Node]) -> dict[tuple[str, str], str]:
    """Declared output types by ``(node id, output as written in a mapping)``."""
    table: dict[tuple[str, str], str] = {}
    for node in nodes:
        if node.operator is not None:
            op_id = node.operator.id or "op"
            for output, urn in (node.operator.output_types or {}).items():
                # consumers write `node/out`; the resolved form is `node/op/out`
                table[(node.id, output)] = urn
                table[(node.id, f"{op_id}/{output}")] = urn
        elif node.operators is not None:
            for op in node.operators:
                for output, urn in (op.output_types or {}).items():
                    table[(node.id, f"{op.id}/{output}")] = urn
        else:
            for output, urn in (node.output_types or {}).items():
                table[(node.id, output)] = urn
    return table


class _Checker:
    def __init__(
        self, registry: TypeRegistry, graph: CompatibilityGraph, report: TypeReport
    ) -> None:
        self.registry = registry
        self.graph = graph
        self.report = report

    def warn(self, ports: _Ports, port: str | None, check: str, message: str, fix: str) -> None:
        self.report.warnings.append(TypeWarning(ports.label, port, message, fix or None, check))

    def check_ports(self, ports: _Ports) -> None:
        where = "the operator block" if ports.operator else "the node"
        for key in ports.output_types:
            if key not in ports.outputs:
                self.warn(
                    ports,
                    key,
                    "output-key",
                    f'output_types key "{key}" not found in outputs list',
                    _key_fix(key, ports.outputs, "outputs", where),
                )
        for key in ports.input_types:
            if key not in ports.inputs:
                self.warn(
                    ports,
                    key,
                    "input-key",
                    f'input_types key "{key}" not found in inputs list',
                    _key_fix(key, list(ports.inputs), "inputs", where),
                )
        for kind, declared in (("output", ports.output_types), ("input", ports.input_types)):
            for port, urn in declared.items():
                self._check_urn(ports, kind, port, urn)
        for key in ports.output_metadata:
            if key not in ports.outputs:
                self.warn(
                    ports,
                    key,
                    "metadata-key",
                    f'output_metadata key "{key}" not found in outputs list',
                    _key_fix(key, ports.outputs, "outputs", where),
                )
        if ports.pattern is not None and ports.pattern not in PATTERN_KEYS:
            self.warn(
                ports,
                None,
                "pattern",
                f'unknown pattern "{ports.pattern}", expected one of: {", ".join(PATTERN_KEYS)}',
                "use one of the listed patterns, or list the keys in output_metadata instead",
            )

    def _check_urn(self, ports: _Ports, kind: str, port: str, urn: str) -> None:
        if self.registry.resolve(urn) is not None:
            return
        suggestion = self.registry.suggest(urn)
        hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
        if "[" in urn and parse_urn(urn) is None:
            fix = "parameters are written `<URN>[key=value,...]` with non-empty keys and values"
        elif suggestion:
            fix = ""
        else:
            fix = (
                "use a standard type (std/<category>/v1/<Name>) or define it in a "
                ".yml file under types/ beside the dataflow"
            )
        self.warn(
            ports, port, "unknown-type", f'unknown type "{urn}" on {kind} "{port}"{hint}', fix
        )

    def check_edges(
        self, ports: _Ports, produced: dict[tuple[str, str], str], strict: bool
    ) -> None:
        for input_id, spec in ports.inputs.items():
            try:
                source = parse_input_source(spec if isinstance(spec, str) else spec.source)
            except ValueError:
                continue  # the descriptor validator reports bad mappings
            expected = ports.input_types.get(input_id)
            if isinstance(source, LogsSource):
                continue
            if isinstance(source, TimerSource):
                self._check_timer(ports, input_id, expected)
            elif isinstance(source, UserSource):
                upstream = produced.get((source.node, source.output))
                self._check_user_edge(ports, input_id, str(source), upstream, expected, strict)

    def _check_timer(self, ports: _Ports, input_id: str, expected: str | None) -> None:
        if expected is None or self.registry.resolve(expected) is None:
            return  # unannotated, or already reported as an unknown type
        if not self.graph.is_compatible(TIMER_TYPE, expected):
            self.warn(
                ports,
                input_id,
                "timer",
                f'type mismatch on input "{input_id}": timer provides "{TIMER_TYPE}", '
                f'but expected "{expected}"',
                f'annotate the input as "{TIMER_TYPE}" (or "{BYTES}"), or drop the annotation',
            )

    def _check_user_edge(
        self,
        ports: _Ports,
        input_id: str,
        source: str,
        upstream: str | None,
        expected: str | None,
        strict: bool,
    ) -> None:
        if upstream is None:
            if strict and expected is not None:
                node, _, output = source.partition("/")
                self.warn(
                    ports,
                    input_id,
                    "untyped-upstream",
                    f'input "{input_id}" expects type "{expected}" but upstream {source} '
                    "has no type annotation",
                    f'add `output_types: {{{output}: {expected}}}` to node "{node}"',
                )
            return
        if self.registry.resolve(upstream) is None:
            return  # reported on the producer as an unknown type
        if expected is None:
            self.report.inferred.append(Inference(ports.label, input_id, upstream, source))
            return
        if self.registry.resolve(expected) is None:
            return  # reported on this input as an unknown type
        if self.graph.is_compatible(upstream, expected):
            return
        detail = self._explain(upstream, expected)
        self.warn(
            ports,
            input_id,
            "mismatch",
            f'type mismatch on input "{input_id}": upstream {source} declares "{upstream}", '
            f'but expected "{expected}"' + (f" ({detail})" if detail else ""),
            _mismatch_fix(upstream, expected),
        )

    def _explain(self, upstream: str, expected: str) -> str | None:
        """Why two struct schemas differ, field by field (only an explanation)."""
        have, want = self.registry.schema(upstream), self.registry.schema(expected)
        if have is None or want is None:
            return None
        return struct_difference(want, have)


def struct_difference(expected: ArrowType, actual: ArrowType) -> str | None:
    """The first field of ``expected`` missing from ``actual`` or typed differently.

    Extra fields in ``actual`` are fine and field order does not matter.
    """
    for wanted in expected.fields:
        found = actual.field(wanted.name)
        if found is None:
            return f'missing field "{wanted.name}"'
        if found.type != wanted.type:
            return f'field "{wanted.name}" type mismatch: expected {wanted.type}, got {found.type}'
    return None


def _key_fix(key: str, ports: list[str], listing: str, where: str) -> str:
    close = difflib.get_close_matches(key, ports, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return f'add "{key}" to the {listing} of {where}, or remove the entry'


def _mismatch_fix(upstream: str, expected: str) -> str:
    have, want = parse_urn(upstream), parse_urn(expected)
    if have is not None and want is not None and have.base == want.base:
        clash = sorted(
            k for k in have.params if want.params.get(k, have.params[k]) != have.params[k]
        )
        return f"make the parameter(s) {', '.join(clash)} agree on both sides (or drop them on one)"
    return (
        "change one of the annotations, convert the data in the producer, or declare the "
        f"conversion with `type_rules: [{{from: {upstream}, to: {expected}}}]`"
    )
