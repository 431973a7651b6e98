"""Semantic checks of a parsed dataflow descriptor.

``validate`` applies the static rules of spec/descriptor.md (ids, node kinds and their
allowed fields, git pins, timings, log settings, sizes, inputs and their wiring) to a
:class:`~dora_message.descriptor.Descriptor`. The first error raises
:class:`~dora_message.errors.DescriptorError` with its document path (``nodes[1].inputs.tick``);
softer problems come back as warning strings. Like mainline's resolve step it also drops
reserved names from every ``env:`` map (with a warning), and warns about settings that
parse for compatibility but have no effect here (a remote ``distribute``). The debug
settings (``publish_all_messages_to_zenoh``, ``enable_debug_inspection``) do act: they
open a dataflow to ``dora topic`` and ``dora record``.
"""

from __future__ import annotations

import re
import shlex

import msgspec

from dora_message._checks import (
    Report,
    check_inputs,
    check_log_fields,
    check_outputs,
    check_seconds,
    check_size,
    check_u32,
    check_wiring,
    data_id_problem,
    node_id_problem,
)
from dora_message._docpath import DocPath
from dora_message.constants import (
    RESERVED_ENV_NAMES,
)
from dora_message.descriptor import NODE_SELECTORS, Deploy, Descriptor, EnvValue, Node, Operator
from dora_message.descriptor_limits import CPU_SETSIZE
from dora_message.quote import excerpt

__all__ = ["RESERVED_ENV_NAMES", "env_name_problem", "validate"]

_SHARED = {"id", "name", "description", "env", "deploy", "_unstable_deploy"}
_GIT = {"path", "git", "branch", "tag", "rev", "hub", "build", "path_sha256"}
_STANDARD = _GIT | {
    "args",
    "inputs",
    "outputs",
    "output_types",
    "input_types",
    "output_framing",
    "output_metadata",
    "pattern",
    "shared_memory_pool_size",
    "restart_policy",
    "max_restarts",
    "restart_delay",
    "max_restart_delay",
    "restart_window",
    "health_check_timeout",
    "finish_grace_secs",
    "send_stdout_as",
    "send_logs_as",
    "min_log_level",
    "max_log_size",
    "max_rotated_files",
    "cpu_affinity",
}
# The operator runtime is a process too: its node restarts (a crashing shared-library
# operator) and is health-checked like any other; everything else sits on the operators.
_RUNTIME_PROCESS = {
    "restart_policy",
    "max_restarts",
    "restart_delay",
    "max_restart_delay",
    "restart_window",
    "health_check_timeout",
    "cpu_affinity",
}
_ALLOWED = {
    "standard": _STANDARD,
    "operator": {"operator"} | _RUNTIME_PROCESS,
    "operators": {"operators"} | _RUNTIME_PROCESS,
    "ros2": (_STANDARD - _GIT) | {"ros2"},
    "module": {"module", "inputs", "params"},
}
_HINT = {
    "operator": "; move them into the `operator:` block",
    "operators": "; move them into the entries of `operators:`",
    "module": "; set them inside the module file",
}
# Said of keys that parse for compatibility but that this implementation does not act on.
_NOT_ACTED_ON = "has no effect in this implementation"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_PARAM_KEY = re.compile(r"[A-Za-z0-9_]+")
# Operator-level settings a runtime node can honour for one operator only.
_ONE_PER_RUNTIME = (
    "send_stdout_as",
    "send_logs_as",
    "min_log_level",
    "max_log_size",
    "max_rotated_files",
)


def validate(descriptor: Descriptor, file: str | None = None) -> list[str]:
    """Check ``descriptor``; return warnings, raise ``DescriptorError`` on the first error.

    Reserved env names are removed from ``descriptor`` in place (with a warning).
    """
    report = Report([node.id for node in descriptor.nodes], file)
    check_seconds(
        report, ("health_check_interval",), descriptor.health_check_interval, positive=True
    )
    if descriptor.unstable_debug is not None and descriptor.debug is not None:
        report.fail(("debug",), "both `debug` and `_unstable_debug` are set; keep one")
    if not descriptor.nodes:
        report.warn(("nodes",), "the dataflow has no nodes")
    _drop_reserved_env(report, ("env",), descriptor.env)
    seen: dict[str, int] = {}
    for index, node in enumerate(descriptor.nodes):
        path: DocPath = ("nodes", index)
        problem = node_id_problem(node.id)
        if problem:
            report.fail((*path, "id"), problem)
        if node.id in seen:
            report.fail(
                (*path, "id"),
                f"duplicate node id `{excerpt(node.id)}` (also used by nodes[{seen[node.id]}])",
            )
        seen[node.id] = index
        _check_node(report, path, node)
    check_wiring(report, descriptor.nodes)
    _warn_not_acted_on(report, descriptor)
    return report.warnings


def _warn_not_acted_on(report: Report, descriptor: Descriptor) -> None:
    """Warn about settings that parse (seed or mainline spelling) but change nothing here,
    so a user is not left believing they took effect."""
    deploys: list[tuple[DocPath, Deploy | None]] = [(("deploy",), descriptor.deploy)]
    for index, node in enumerate(descriptor.nodes):
        key = "_unstable_deploy" if node.unstable_deploy is not None else "deploy"
        deploys.append((("nodes", index, key), node.placement))
    for path, deploy in deploys:
        if deploy is not None and deploy.distribute not in (None, "local"):
            report.warn(
                (*path, "distribute"),
                f"`{deploy.distribute}`: {_NOT_ACTED_ON} (every daemon builds its own nodes)",
            )


# (attribute, YAML name, default) of every Node field, looked up once: asking msgspec per
# node re-evaluated the annotations each time and was most of the validation time.
_NODE_FIELDS = tuple(
    (
        field.name,
        field.encode_name,
        field.default_factory() if field.default_factory is not msgspec.NODEFAULT else None,
    )
    for field in msgspec.structs.fields(Node)
)


def _set_fields(node: Node) -> list[str]:
    """YAML names of the node fields that differ from their defaults."""
    return [name for attr, name, default in _NODE_FIELDS if getattr(node, attr) != default]


def _check_node(report: Report, path: DocPath, node: Node) -> None:
    chosen = [key for key in NODE_SELECTORS if getattr(node, key) is not None]
    if node.hub is not None:
        _check_hub(report, path, node)
    if len(chosen) != 1:
        if chosen:
            report.fail(
                path,
                f"a node takes exactly one of {', '.join(NODE_SELECTORS)}; "
                f"this one sets {', '.join(chosen)}",
            )
        hint = "; `git:` also needs `path:` (the executable in the repository)" if node.git else ""
        report.fail(
            path,
            f"no node source: set exactly one of {', '.join(NODE_SELECTORS)}{hint}",
        )
    kind = node.kind
    assert kind is not None  # exactly one selector is set
    extra = [
        name for name in _set_fields(node) if name not in _SHARED and name not in _ALLOWED[kind]
    ]
    if extra:
        report.fail(
            (*path, extra[0]),
            f"not allowed on {kind} nodes: {', '.join(extra)}{_HINT.get(kind, '')}",
        )
    if node.deploy is not None and node.unstable_deploy is not None:
        report.fail((*path, "deploy"), "both `deploy` and `_unstable_deploy` are set; keep one")
    _drop_reserved_env(report, (*path, "env"), node.env)
    _check_source(report, path, node)
    for position, core in enumerate(node.cpu_affinity or []):
        if core < 0:
            report.fail((*path, "cpu_affinity", position), f"core index {core} is negative")
        if core >= CPU_SETSIZE:
            report.warn(
                (*path, "cpu_affinity", position),
                f"core index {excerpt(core)} is not below {CPU_SETSIZE} (CPU_SETSIZE); "
                "it is skipped",
            )
    if kind == "module":
        _check_params(report, path, node)
    check_inputs(report, path, node.inputs)
    if kind in ("standard", "ros2"):
        _check_process(report, path, node)
    elif kind == "operator" and node.operator is not None:
        _check_restart_keys(report, path, node)
        _check_operator(report, (*path, "operator"), node.operator)
    elif kind == "operators":
        _check_restart_keys(report, path, node)
        _check_operators(report, path, node.operators or [])


def _check_hub(report: Report, path: DocPath, node: Node) -> None:
    clash = [key for key in ("path", "git", "build") if getattr(node, key) is not None]
    if clash:
        report.fail((*path, "hub"), f"`hub:` cannot be combined with {', '.join(clash)}")
    report.fail(
        (*path, "hub"),
        "unresolved `hub:` node; hub packages must be resolved to `git:` + `path:` "
        "(by `dora build`) before the dataflow can be used",
    )


def _check_source(report: Report, path: DocPath, node: Node) -> None:
    pins = [key for key in ("branch", "tag", "rev") if getattr(node, key) is not None]
    if len(pins) > 1:
        report.fail(
            (*path, pins[1]), f"set at most one of branch, tag, rev (found {', '.join(pins)})"
        )
    if pins and node.git is None:
        report.fail((*path, pins[0]), f"`{pins[0]}` requires `git:` (the repository URL)")
    if node.path_sha256 is not None:
        if not (node.path or "").startswith(("http://", "https://")):
            report.fail((*path, "path_sha256"), "only valid when `path` is an http(s) URL")
        if not _SHA256.fullmatch(node.path_sha256):
            report.fail((*path, "path_sha256"), "must be 64 hexadecimal characters")
    if node.path is not None and not node.path.strip():
        report.fail((*path, "path"), "path is empty")
    if isinstance(node.args, str):
        try:
            shlex.split(node.args)
        except ValueError as err:
            report.fail(
                (*path, "args"),
                f"cannot split args `{excerpt(node.args)}`: {err} (unbalanced quotes?)",
            )


def _check_process(report: Report, path: DocPath, node: Node) -> None:
    check_outputs(report, path, node.outputs)
    check_log_fields(report, path, node)
    check_size(report, (*path, "shared_memory_pool_size"), node.shared_memory_pool_size)
    _check_restart_keys(report, path, node)
    check_seconds(report, (*path, "finish_grace_secs"), node.finish_grace_secs)


def _check_restart_keys(report: Report, path: DocPath, node: Node) -> None:
    check_u32(report, (*path, "max_restarts"), node.max_restarts)
    for key in ("restart_delay", "max_restart_delay", "restart_window", "health_check_timeout"):
        check_seconds(report, (*path, key), getattr(node, key))


def _check_operators(report: Report, path: DocPath, ops: list[Operator]) -> None:
    if not ops:
        report.fail((*path, "operators"), "`operators:` is empty; list at least one operator")
    seen: set[str] = set()
    setters: dict[str, int] = {}
    for index, op in enumerate(ops):
        here = (*path, "operators", index)
        if op.id is None:
            report.fail(here, "missing `id`; every entry of `operators:` needs an id")
        if op.id in seen:
            report.fail((*here, "id"), f"duplicate operator id `{op.id}`")
        seen.add(op.id)
        for key in _ONE_PER_RUNTIME:
            if getattr(op, key) is None:
                continue
            if key in setters:
                report.fail(
                    (*here, key),
                    f"only one operator of a node may set `{key}` "
                    f"(operators[{setters[key]}] already does)",
                )
            setters[key] = index
        _check_operator(report, here, op)
    conda_envs = {
        op.python.conda_env: index
        for index, op in enumerate(ops)
        if op.python is not None and not isinstance(op.python, str) and op.python.conda_env
    }
    if len(conda_envs) > 1:
        report.fail(
            (*path, "operators", max(conda_envs.values())),
            "the operators of a node share one process but ask for different conda "
            f"environments ({', '.join(sorted(conda_envs))}); give them separate nodes",
        )


def _check_operator(report: Report, path: DocPath, op: Operator) -> None:
    op_id = op.id if op.id is not None else "op"
    problem = data_id_problem(op_id, "operator")
    if problem or "/" in op_id:
        report.fail((*path, "id"), problem or f"operator id `{op_id}` must not contain `/`")
    kinds = [key for key in ("python", "shared_library", "wasm") if getattr(op, key) is not None]
    if len(kinds) != 1:
        found = f"found {', '.join(k.replace('_', '-') for k in kinds)}" if kinds else "none set"
        report.fail(
            path, f"an operator needs exactly one of python, shared-library, wasm ({found})"
        )
    if op.wasm is not None:
        # parsed for compatibility, but `dora run` could not start it: refuse it here too
        report.fail(
            (*path, "wasm"),
            f"operator `{op_id}`: wasm operators are not supported (no wasm runtime); "
            "use `python` or `shared-library`",
        )
    check_inputs(report, path, op.inputs)
    check_outputs(report, path, op.outputs)
    check_log_fields(report, path, op)


def _check_params(report: Report, path: DocPath, node: Node) -> None:
    seen: dict[str, str] = {}
    for key in node.params or {}:
        if not _PARAM_KEY.fullmatch(key):
            report.fail(
                (*path, "params", key),
                f"invalid param name `{excerpt(key)}`: use letters, digits and `_` only",
            )
        if key.upper() in seen:
            report.fail(
                (*path, "params", key),
                f"param `{excerpt(key)}` clashes with `{excerpt(seen[key.upper()])}` "
                f"(both become PARAM_{key.upper()})",
            )
        seen[key.upper()] = key


def env_name_problem(name: str) -> str | None:
    """Why a descriptor's ``env:`` may not set ``name`` (None: it may). The one rule for
    ``dora validate`` and the daemon, which drops such names from what it is handed."""
    if name in RESERVED_ENV_NAMES:
        return "is reserved for dora"
    if not name or "=" in name or "\0" in name or any(c.isspace() for c in name):
        return "is not a valid environment variable name"
    return None


def _drop_reserved_env(report: Report, path: DocPath, env: dict[str, EnvValue] | None) -> None:
    if not env:
        return
    for name in list(env):
        why = env_name_problem(name)
        if why is None:
            continue
        del env[name]
        report.warn((*path, name), f"`{excerpt(name)}` {why}; it is ignored")
