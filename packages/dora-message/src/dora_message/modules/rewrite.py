"""Turning one inner node of a module file into a node of the flat dataflow.

Per inner node (spec B3 step 5): prefix the id with ``<module_id>.``; rewrite every input
map (``_mod/<port>`` to the module node's binding, siblings to their prefixed ids,
unwired optional ports dropped); re-base relative source paths onto the dataflow
directory; inherit ``deploy`` and missing ``env`` keys from the module node; substitute
params in ``args`` and inject them as ``PARAM_<KEY>``; prepend the module's ``build``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import msgspec

from dora_message._docpath import DocPath
from dora_message.descriptor import EnvValue, HostEnv, Input, Node, Operator, PythonSource
from dora_message.modules.ports import replace_input, source_of, undeclared_mod_ref
from dora_message.modules.schema import MODULE_INPUT_SOURCE, ModuleHeader
from dora_message.quote import excerpt

__all__ = ["Instance", "instantiate", "param_values", "substitute_params", "with_build"]

Fail = Callable[[DocPath, str], NoReturn]

# `${_param.<key>}` or `$<TOKEN>` where TOKEN is a maximal [A-Za-z0-9_] run.
_PARAM_REF = re.compile(r"\$\{_param\.([^}]*)\}|\$([A-Za-z0-9_]+)")
# Paths left alone when re-basing: not files relative to the module.
_SPECIAL_PATHS = ("dynamic", "shell")


@dataclass(frozen=True)
class Instance:
    """One use of a module file: what every inner node is rewritten against."""

    module_id: str
    binding: Node  # the module node at the use site
    header: ModuleHeader
    local_ids: frozenset[str]
    params: Mapping[str, str]
    module_dir: Path  # canonical directory of the module file
    project: Path  # canonical dataflow directory
    build: str | None


def param_values(node: Node, fail: Fail, here: DocPath) -> dict[str, str]:
    """The module node's params as strings (YAML may hand us numbers or booleans)."""
    values: dict[str, str] = {}
    for key, value in (node.params or {}).items():
        if isinstance(value, HostEnv):
            fail(
                (*here, "params", key),
                f"param `{excerpt(key)}` must be a plain value, not a mapping",
            )
        values[key] = _text(value)
    return values


def _text(value: EnvValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute_params(text: str, params: Mapping[str, str]) -> str:
    """Replace ``${_param.key}`` and ``$PARAM_KEY`` in one left-to-right pass.

    Unknown names stay as written; substituted text is never expanded again.
    """
    upper = {f"PARAM_{key.upper()}": value for key, value in params.items()}

    def replace(match: re.Match[str]) -> str:
        exact, token = match.group(1), match.group(2)
        if exact is not None:
            return params.get(exact, match.group(0))
        return upper.get(token, match.group(0))

    return _PARAM_REF.sub(replace, text)


def with_build(node: Node, build: str | None) -> Node:
    """``node`` with ``build`` run before its own build commands (and its operators')."""
    if not build:
        return node
    if node.operator is not None:
        op = msgspec.structs.replace(node.operator, build=_join(build, node.operator.build))
        return msgspec.structs.replace(node, operator=op)
    if node.operators is not None:
        ops = [msgspec.structs.replace(op, build=_join(build, op.build)) for op in node.operators]
        return msgspec.structs.replace(node, operators=ops)
    if node.path is not None or node.module is not None:
        return msgspec.structs.replace(node, build=_join(build, node.build))
    return node  # ros2 bridges have no build step


def _join(first: str, then: str | None) -> str:
    return f"{first}\n{then}" if then else first


def instantiate(inner: Node, here: DocPath, instance: Instance, fail: Fail) -> Node:
    """The flat-dataflow form of ``inner`` (at ``here`` in the module file)."""
    node = msgspec.structs.replace(inner, id=f"{instance.module_id}.{inner.id}")
    node = _rewrite_inputs(node, inner.id, here, instance, fail)
    node = _rebase(node, here, instance, fail)
    binding = instance.binding
    if node.placement is None and binding.placement is not None:
        name = "unstable_deploy" if binding.unstable_deploy is not None else "deploy"
        node = msgspec.structs.replace(node, **{name: binding.placement})
    env: dict[str, EnvValue] = dict(node.env or {})
    for key, value in (binding.env or {}).items():
        env.setdefault(key, value)
    if instance.params:
        if isinstance(node.args, str):
            node = msgspec.structs.replace(node, args=substitute_params(node.args, instance.params))
        elif isinstance(node.args, list):
            args = [substitute_params(a, instance.params) for a in node.args]
            node = msgspec.structs.replace(node, args=args)
        env.update({f"PARAM_{k.upper()}": v for k, v in instance.params.items()})
    if env:
        node = msgspec.structs.replace(node, env=env)
    return with_build(node, instance.build)


def _rewrite_inputs(
    node: Node, local_id: str, here: DocPath, instance: Instance, fail: Fail
) -> Node:
    # Shallow copies, then fresh maps assigned: nothing is shared with the parsed file.
    node = msgspec.structs.replace(node)
    owners: list[tuple[DocPath, Node | Operator]] = [(("inputs",), node)]
    if node.operator is not None:
        node.operator = msgspec.structs.replace(node.operator)
        owners.append((("operator", "inputs"), node.operator))
    if node.operators is not None:
        node.operators = [msgspec.structs.replace(op) for op in node.operators]
        owners += [(("operators", i, "inputs"), op) for i, op in enumerate(node.operators)]
    for sub, owner in owners:
        owner.inputs, dropped = _rewrite_map(owner.inputs, local_id, (*here, *sub), instance, fail)
        if dropped and owner.input_types:
            # An unwired optional port disappears; so does its annotation.
            kept = {k: v for k, v in owner.input_types.items() if k not in dropped}
            owner.input_types = kept or None
    return node


def _rewrite_map(
    inputs: dict[str, Input], local_id: str, here: DocPath, instance: Instance, fail: Fail
) -> tuple[dict[str, Input], set[str]]:
    result: dict[str, Input] = {}
    dropped: set[str] = set()
    for input_id, spec in inputs.items():
        source = source_of(spec)
        if source is None:
            result[input_id] = spec
        elif source.node == MODULE_INPUT_SOURCE:
            port = source.output
            binding = instance.binding.inputs.get(port)
            if binding is not None:
                bound = binding if isinstance(binding, str) else binding.source
                result[input_id] = replace_input(spec, bound, binding)
            elif port in instance.header.inputs_optional:
                dropped.add(input_id)
            else:
                message = undeclared_mod_ref(instance.header, local_id, input_id, port)
                fail((*here, input_id), message)
        elif source.node in instance.local_ids:
            prefixed = f"{instance.module_id}.{source.node}/{source.output}"
            result[input_id] = replace_input(spec, prefixed)
        else:
            result[input_id] = spec  # outside the module: left for the final rewrite
    return result, dropped


def _rebase(node: Node, here: DocPath, instance: Instance, fail: Fail) -> Node:
    if node.git is not None or node.hub is not None:
        return node  # the path is inside the cloned repository, not beside the module

    def rebase(value: str, where: DocPath) -> str:
        if (
            value in _SPECIAL_PATHS
            or value.startswith(("http://", "https://", "$", "/"))
            or os.path.isabs(value)
        ):
            return value
        resolved = os.path.normpath(instance.module_dir / value)
        project = str(instance.project)
        if os.path.commonpath([resolved, project]) != project:
            fail(
                where,
                f"module node `{excerpt(node.id)}` path `{excerpt(value)}` resolves outside "
                f"the project directory (resolved to `{resolved}`)",
            )
        return Path(os.path.relpath(resolved, project)).as_posix()

    if node.path is not None:
        node = msgspec.structs.replace(node, path=rebase(node.path, (*here, "path")))
    if node.operator is not None:
        op = _rebase_operator(node.operator, (*here, "operator"), rebase)
        node = msgspec.structs.replace(node, operator=op)
    if node.operators is not None:
        ops = [
            _rebase_operator(op, (*here, "operators", i), rebase)
            for i, op in enumerate(node.operators)
        ]
        node = msgspec.structs.replace(node, operators=ops)
    return node


def _rebase_operator(
    op: Operator, here: DocPath, rebase: Callable[[str, DocPath], str]
) -> Operator:
    changes: dict[str, object] = {}
    if op.shared_library is not None:
        changes["shared_library"] = rebase(op.shared_library, (*here, "shared-library"))
    if op.wasm is not None:
        changes["wasm"] = rebase(op.wasm, (*here, "wasm"))
    if isinstance(op.python, str):
        changes["python"] = rebase(op.python, (*here, "python"))
    elif isinstance(op.python, PythonSource):
        source = rebase(op.python.source, (*here, "python", "source"))
        changes["python"] = msgspec.structs.replace(op.python, source=source)
    return msgspec.structs.replace(op, **changes) if changes else op
