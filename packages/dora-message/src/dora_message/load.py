"""Load a dataflow descriptor from YAML into a validated :class:`Descriptor`.

Pipeline: YAML (:mod:`dora_message.yaml_load`: duplicate keys rejected; size, depth and
aliases bounded) → msgspec conversion (unknown keys rejected with a did-you-mean hint) →
env expansion (``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``{__dora_env: VAR}``) →
:func:`validate`. Every
failure is a :class:`DescriptorError` with a path like ``nodes[2].inputs.tick`` and, when
the text is at hand, the YAML line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from dora_message._checks import suggest
from dora_message._convert_errors import describe_validation_error
from dora_message._docpath import DocPath, format_path, node_prefix, parse_path, yaml_line
from dora_message.descriptor import Descriptor, EnvValue, HostEnv, Operator
from dora_message.descriptor_limits import MAX_TEXT_BYTES
from dora_message.errors import DescriptorError
from dora_message.modules import expand_modules
from dora_message.quote import excerpt
from dora_message.validate import validate
from dora_message.yaml_load import load_yaml_mapping

__all__ = [
    "expand_env_vars",
    "load_descriptor",
    "load_descriptor_with_warnings",
    "parse_descriptor",
    "parse_descriptor_with_warnings",
]

# `$NAME`, `${NAME}` and `${NAME:-default}`, as shellexpand::env (used by mainline) reads them.
_ENV_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

_OPERATOR_KEYS = tuple(f.encode_name for f in msgspec.structs.fields(Operator))


def load_descriptor(path: str | os.PathLike[str]) -> Descriptor:
    """Read, parse and validate the dataflow at ``path``."""
    return load_descriptor_with_warnings(path)[0]


def load_descriptor_with_warnings(path: str | os.PathLike[str]) -> tuple[Descriptor, list[str]]:
    """Like :func:`load_descriptor`, also returning the validation warnings."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as stream:
            # one byte over the bound is enough to refuse it; never read a huge file whole
            data = stream.read(MAX_TEXT_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise DescriptorError("dataflow file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DescriptorError(f"cannot read dataflow file: {excerpt(err)}", file=file) from None
    return parse_descriptor_with_warnings(text, file)


def parse_descriptor(
    text: str, file: str | None = None, *, environ: Mapping[str, str] | None = None
) -> Descriptor:
    """Parse and validate descriptor YAML ``text`` (``file`` only names it in errors)."""
    return parse_descriptor_with_warnings(text, file, environ=environ)[0]


def parse_descriptor_with_warnings(
    text: str, file: str | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[Descriptor, list[str]]:
    """Like :func:`parse_descriptor`, also returning the validation warnings.

    ``environ`` is the environment used for ``$VAR`` expansion (default ``os.environ``).
    """
    raw = load_yaml_mapping(text, file)
    node_ids = _raw_node_ids(raw)
    try:
        descriptor = msgspec.convert(raw, Descriptor)
    except msgspec.ValidationError as err:
        path, message = describe_validation_error(raw, err)
        raise _located(text, file, path, node_prefix(path, node_ids) + message) from None
    warnings = _unknown_operator_keys(raw)
    # Modules are compile-time only: replace `module:` nodes by flat nodes before any check.
    expanded = expand_modules(descriptor, file, text)
    if expanded is not descriptor:  # document paths now index the flat nodes, not YAML lines
        descriptor, text = expanded, ""
    try:
        _expand_descriptor_env(descriptor, os.environ if environ is None else environ, file)
        warnings += validate(descriptor, file)
    except DescriptorError as err:
        parsed = parse_path(err.path)
        if parsed is None:
            raise
        raise _located(text, file, parsed, err.message) from None
    return descriptor, warnings


def expand_env_vars(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Expand ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` in ``value``.

    A ``$`` not followed by a name is kept. An unset variable without a default raises
    ``KeyError`` naming it.
    """
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in env:
            return env[name]
        if match.group(2) is not None:
            return match.group(2)
        raise KeyError(name)

    return _ENV_REF.sub(replace, value)


def _raw_node_ids(raw: dict[str, Any]) -> list[object]:
    nodes = raw.get("nodes")
    if not isinstance(nodes, list):
        return []
    return [node.get("id") if isinstance(node, dict) else None for node in nodes]


def _located(text: str, file: str | None, path: DocPath, message: str) -> DescriptorError:
    line = yaml_line(text, path) if path else None
    suffix = f" (line {line})" if line is not None else ""
    return DescriptorError(message + suffix, format_path(path), file)


def _unknown_operator_keys(raw: dict[str, Any]) -> list[str]:
    """Warn about unknown keys in operator blocks: mainline ignores them, and so do we."""
    warnings: list[str] = []
    node_ids = _raw_node_ids(raw)
    for index, node in enumerate(raw.get("nodes") or []):
        blocks: list[tuple[DocPath, Any]] = [(("nodes", index, "operator"), node.get("operator"))]
        for op_index, op in enumerate(node.get("operators") or []):
            blocks.append((("nodes", index, "operators", op_index), op))
        for path, block in blocks:
            for key in block if isinstance(block, dict) else ():
                if key not in _OPERATOR_KEYS:
                    warnings.append(
                        f"{format_path(path)}: {node_prefix(path, node_ids)}"
                        f"unknown key `{excerpt(key)}` is ignored"
                        f"{suggest(str(key), _OPERATOR_KEYS)}"
                    )
    return warnings


def _expand_descriptor_env(
    descriptor: Descriptor, environ: Mapping[str, str], file: str | None
) -> None:
    node_ids = [node.id for node in descriptor.nodes]
    scopes: list[tuple[DocPath, dict[str, EnvValue] | None]] = [(("env",), descriptor.env)]
    scopes += [(("nodes", i, "env"), node.env) for i, node in enumerate(descriptor.nodes)]
    for path, env in scopes:
        for key, value in (env or {}).items():
            here = (*path, key)
            if isinstance(value, HostEnv):
                if value.dora_env not in environ:
                    raise DescriptorError(
                        f"{node_prefix(here, node_ids)}host environment variable "
                        f"`{excerpt(value.dora_env)}` is not set "
                        f"(read by `__dora_env` for `{excerpt(key)}`)",
                        format_path(here),
                        file,
                    )
                env[key] = environ[value.dora_env]  # type: ignore[index]
            elif isinstance(value, str) and "$" in value:
                try:
                    env[key] = expand_env_vars(value, environ)  # type: ignore[index]
                except KeyError as err:
                    name = err.args[0]
                    raise DescriptorError(
                        f"{node_prefix(here, node_ids)}environment variable `{excerpt(name)}` "
                        "used in "
                        f"`{excerpt(value)}` is not set; set it or write `${{{name}:-default}}`",
                        format_path(here),
                        file,
                    ) from None
