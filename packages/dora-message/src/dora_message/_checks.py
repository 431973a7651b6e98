"""Building blocks of descriptor validation: the report, value checks, inputs and wiring.

:mod:`dora_message.validate` walks the document and calls these. Every failure raises
:class:`~dora_message.errors.DescriptorError` naming the document path; warnings are
collected as ``"<path>: <message>"`` strings.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from typing import NoReturn

from dora_message._docpath import DocPath, format_path, node_prefix
from dora_message.descriptor import Input, InputSpec, Node, Operator
from dora_message.errors import DescriptorError
from dora_message.quote import cap_message, excerpt
from dora_message.sources import LOG_LEVELS, UserSource, parse_input_source
from dora_message.units import parse_size

_NODE_ID = re.compile(r"[A-Za-z0-9_.-]+")
_DATA_ID = re.compile(r"[A-Za-z0-9_./-]+")
# Rust's Duration::MAX is ~1.8e19 s; anything at or above cannot be represented.
_MAX_SECONDS = 1.8e19
_U32_MAX = 2**32 - 1
_SUGGEST_MAX_CHARS = 200
_BAD_CHARS_SHOWN = 10
_OUTPUTS_LISTED = 20


class Report:
    """Where checks send their findings."""

    def __init__(self, node_ids: Sequence[object], file: str | None) -> None:
        self.node_ids = node_ids
        self.file = file
        self.warnings: list[str] = []

    def fail(self, path: DocPath, message: str) -> NoReturn:
        """Raise the error for ``path``."""
        raise DescriptorError(
            node_prefix(path, self.node_ids) + message, format_path(path), self.file
        )

    def warn(self, path: DocPath, message: str) -> None:
        """Record a warning for ``path``."""
        self.warnings.append(
            cap_message(f"{format_path(path)}: {node_prefix(path, self.node_ids)}{message}")
        )


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the closest choice, or ``""``."""
    if len(word) > _SUGGEST_MAX_CHARS:
        return ""  # no typo of a real name is that long, and difflib is quadratic
    candidates = [c for c in choices if len(c) <= _SUGGEST_MAX_CHARS]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean `{excerpt(close[0])}`?" if close else ""


def _bad_chars(text: str, allowed: re.Pattern[str]) -> str:
    """The characters of ``text`` that ``allowed`` refuses, the first few, shown."""
    bad = sorted({c for c in text if not allowed.fullmatch(c)})
    shown = " ".join(repr(c) for c in bad[:_BAD_CHARS_SHOWN])
    return shown + (
        f" and {len(bad) - _BAD_CHARS_SHOWN} more" if len(bad) > _BAD_CHARS_SHOWN else ""
    )


def node_id_problem(node_id: str) -> str | None:
    """Why ``node_id`` is not a valid node id, or ``None``."""
    if not node_id:
        return "node id is empty"
    if not _NODE_ID.fullmatch(node_id):
        return (
            f"invalid node id `{excerpt(node_id)}`: character(s) "
            f"{_bad_chars(node_id, _NODE_ID)} not allowed; use letters, digits, `_`, `-` and `.`"
        )
    if node_id.startswith("."):
        return f"invalid node id `{excerpt(node_id)}`: must not start with `.`"
    if node_id == "dora":
        return "node id `dora` is reserved for built-in sources (`dora/timer`, `dora/logs`)"
    return None


def data_id_problem(data_id: str, what: str) -> str | None:
    """Why ``data_id`` is not a valid input/output id, or ``None``."""
    if not data_id:
        return f"{what} id is empty"
    if not _DATA_ID.fullmatch(data_id):
        return (
            f"invalid {what} id `{excerpt(data_id)}`: character(s) "
            f"{_bad_chars(data_id, _DATA_ID)} not allowed; "
            "use letters, digits, `_`, `-`, `.` and `/`"
        )
    if data_id.startswith("/") or data_id.endswith("/") or "//" in data_id:
        return f"invalid {what} id `{excerpt(data_id)}`: no leading or trailing `/` and no `//`"
    return None


def check_seconds(
    report: Report, path: DocPath, value: float | None, positive: bool = False
) -> None:
    """A duration field in seconds: finite, >= 0 (or > 0 when ``positive``)."""
    if value is None:
        return
    if not math.isfinite(value) or value >= _MAX_SECONDS:
        report.fail(path, f"`{value}` is not a finite number of seconds")
    if positive and value <= 0:
        report.fail(path, f"must be greater than 0 seconds, got {value}")
    if value < 0:
        report.fail(path, f"must be >= 0 seconds, got {value}")


def check_size(report: Report, path: DocPath, value: str | int | None) -> None:
    """A byte size field (``"50MB"``, ``1024``): parses and is > 0."""
    if value is None:
        return
    try:
        size = parse_size(value)
    except ValueError as err:
        report.fail(path, str(err))
    if size == 0:
        report.fail(path, "must be greater than 0 bytes")


def check_log_fields(report: Report, path: DocPath, owner: Node | Operator) -> None:
    """``min_log_level``, ``max_log_size``, ``max_rotated_files``, stdout/log outputs."""
    level = owner.min_log_level
    if level is not None and (not isinstance(level, str) or level.lower() not in LOG_LEVELS):
        report.fail(
            (*path, "min_log_level"),
            f"invalid log level `{excerpt(level)}`; expected one of {', '.join(LOG_LEVELS)}"
            + suggest(str(level).lower(), LOG_LEVELS),
        )
    check_size(report, (*path, "max_log_size"), owner.max_log_size)
    rotated = owner.max_rotated_files
    if rotated is not None and not 1 <= rotated <= 100:
        report.fail((*path, "max_rotated_files"), f"must be between 1 and 100, got {rotated}")
    for key in ("send_stdout_as", "send_logs_as"):
        target = getattr(owner, key)
        if target is None:
            continue
        problem = data_id_problem(target, "output")
        if problem:
            report.fail((*path, key), problem)
        if target not in owner.outputs:
            report.warn(
                (*path, key),
                f"`{excerpt(target)}` is not listed in outputs, so no node can subscribe to it; "
                f"add `{excerpt(target)}` to outputs",
            )


def check_outputs(report: Report, path: DocPath, outputs: list[str]) -> None:
    """Output ids are valid DataIds; duplicates collapse with a warning."""
    seen: set[str] = set()
    for index, output in enumerate(outputs):
        problem = data_id_problem(output, "output")
        if problem:
            report.fail((*path, "outputs", index), problem)
        if output in seen:
            report.warn((*path, "outputs", index), f"output `{excerpt(output)}` is listed twice")
        seen.add(output)


def check_inputs(report: Report, path: DocPath, inputs: dict[str, Input]) -> None:
    """Input ids, source syntax and queue options (wiring is checked later)."""
    for input_id, spec in inputs.items():
        here = (*path, "inputs", input_id)
        problem = data_id_problem(input_id, "input")
        if problem:
            report.fail(here, problem)
        source_path = (*here, "source") if isinstance(spec, InputSpec) else here
        source = spec.source if isinstance(spec, InputSpec) else spec
        try:
            parsed = parse_input_source(source)
        except ValueError as err:
            report.fail(source_path, str(err))
        if isinstance(parsed, UserSource):
            problem = node_id_problem(parsed.node)
            if problem:
                report.fail(source_path, f"in source `{excerpt(source)}`: {problem}")
        if not isinstance(spec, InputSpec):
            continue
        if spec.queue_size is not None:
            if spec.queue_size < 0:
                report.fail((*here, "queue_size"), f"must be >= 1, got {spec.queue_size}")
            if spec.queue_size == 0:
                report.warn((*here, "queue_size"), "queue_size 0 is treated as 1")
        check_seconds(report, (*here, "input_timeout"), spec.input_timeout)


def check_wiring(report: Report, nodes: list[Node]) -> None:
    """Every user input names an existing node and an output that node declares."""
    by_id = {node.id: node for node in nodes}
    for index, node in enumerate(nodes):
        owners: list[tuple[DocPath, dict[str, Input]]] = [(("nodes", index), node.inputs)]
        if node.operator is not None:
            owners.append((("nodes", index, "operator"), node.operator.inputs))
        for op_index, op in enumerate(node.operators or []):
            owners.append((("nodes", index, "operators", op_index), op.inputs))
        for path, inputs in owners:
            for input_id, spec in inputs.items():
                here = (*path, "inputs", input_id)
                source = parse_input_source(spec.source if isinstance(spec, InputSpec) else spec)
                if isinstance(source, UserSource):
                    _check_edge(report, here, source, by_id)


def _check_edge(report: Report, path: DocPath, source: UserSource, by_id: dict[str, Node]) -> None:
    producer = by_id.get(source.node)
    if producer is None:
        report.fail(
            path,
            f"source node `{excerpt(source.node)}` does not exist" + suggest(source.node, by_id),
        )
    kind = producer.kind
    if kind == "module":
        return  # outputs are only known after module expansion
    if kind == "operators":
        op_id, sep, output = source.output.partition("/")
        if not sep:
            report.fail(
                path,
                f"`{excerpt(source)}` references node `{excerpt(source.node)}`, which runs "
                f"several operators; write `{excerpt(source.node)}/<operator_id>/"
                f"{excerpt(source.output)}`",
            )
        ops = {op.id: op for op in producer.operators or [] if op.id is not None}
        if op_id not in ops:
            report.fail(
                path,
                f"source operator `{excerpt(f'{source.node}/{op_id}')}` does not exist"
                + suggest(op_id, ops),
            )
        _check_output(report, path, source, output, ops[op_id].outputs)
        return
    if kind == "operator" and producer.operator is not None:
        outputs = producer.operator.outputs
        op_id = producer.operator.id or "op"
        output = source.output
        # `X/out` is the usual spelling; `X/<op>/out` is the resolved one. Accept both.
        if output not in outputs and output.startswith(f"{op_id}/"):
            output = output[len(op_id) + 1 :]
        _check_output(report, path, source, output, outputs)
        return
    _check_output(report, path, source, source.output, producer.outputs)


def _check_output(
    report: Report, path: DocPath, source: UserSource, output: str, declared: list[str]
) -> None:
    if output in declared:
        return
    listed = ", ".join(f"`{excerpt(o)}`" for o in declared[:_OUTPUTS_LISTED]) or "no outputs"
    if len(declared) > _OUTPUTS_LISTED:
        listed += f" and {len(declared) - _OUTPUTS_LISTED} more"
    report.fail(
        path,
        f"output `{excerpt(source)}` does not exist: `{excerpt(source.node)}` declares {listed}"
        + (suggest(output, declared) or f"; add `{excerpt(output)}` to its outputs"),
    )


def check_u32(report: Report, path: DocPath, value: int | None) -> None:
    """An unsigned 32-bit count."""
    if value is not None and not 0 <= value <= _U32_MAX:
        report.fail(path, f"must be between 0 and {_U32_MAX}, got {value}")
