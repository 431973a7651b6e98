"""The environment of a node process (spec/descriptor.md §7, spec/runtime.md §3).

Merge order: the daemon's environment minus scrubbed variables, the descriptor's global
``env``, the node's ``env``, then the variables the daemon injects (not overridable).
Reserved and malformed names in a descriptor are dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping

from dora_message.constants import (
    ENV_ALLOW_SHELL_NODES,
    ENV_AUTH_TOKEN,
    ENV_NODE_CONFIG,
    ENV_OPERATOR,
    ENV_OPERATORS,
    ENV_RUN_PARENT_PID,
    ENV_RUNTIME_CONFIG,
    ENV_ZENOH_CONFIG_OVERLAY,
    ENV_ZENOH_CONNECT,
    ENV_ZENOH_LISTEN,
    ENV_ZENOH_LISTEN_EXTRA,
    ENV_ZENOH_MULTICAST,
)
from dora_message.descriptor import EnvValue, HostEnv
from dora_message.errors import DescriptorError

# Control-plane variables the daemon sets itself (spec/descriptor.md §7).
_CONTROL_VARS = frozenset(
    {
        ENV_NODE_CONFIG,
        ENV_RUNTIME_CONFIG,
        ENV_ZENOH_LISTEN,
        ENV_ZENOH_LISTEN_EXTRA,
        ENV_ZENOH_CONNECT,
        ENV_ZENOH_MULTICAST,
        ENV_RUN_PARENT_PID,
        ENV_OPERATOR,
        ENV_OPERATORS,
    }
)
# Variables that would let a descriptor hijack the loader or the daemon's privileges.
_HIJACK_VARS = frozenset(
    {"LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", ENV_AUTH_TOKEN, ENV_ALLOW_SHELL_NODES}
)
RESERVED_ENV = (
    _CONTROL_VARS
    | _HIJACK_VARS
    | {
        "ZENOH_CONFIG",
        ENV_ZENOH_CONFIG_OVERLAY,
        "LD_LIBRARY_PATH",
        "DYLD_LIBRARY_PATH",
    }
)
# Scrubbed from the inherited environment; library search paths stay inherited on purpose.
SCRUBBED_HOST_ENV = _CONTROL_VARS | _HIJACK_VARS


def descriptor_env(
    env: Mapping[str, EnvValue] | None,
    where: str,
    host_env: Mapping[str, str],
    warnings: list[str],
) -> dict[str, str]:
    """Stringify an ``env:`` block; ``where`` names it (``env`` or ``nodes[2].env``)."""
    out: dict[str, str] = {}
    for key, value in (env or {}).items():
        if key in RESERVED_ENV:
            warnings.append(f"{where}.{key}: `{key}` is reserved by dora; dropped")
            continue
        if not key or any(c in key for c in "= \t\n\r\0"):
            warnings.append(f"{where}: invalid variable name {key!r}; dropped")
            continue
        out[key] = _env_text(value, f"{where}.{key}", host_env)
    return out


def _env_text(value: EnvValue, where: str, host_env: Mapping[str, str]) -> str:
    if isinstance(value, HostEnv):
        if value.dora_env not in host_env:
            raise DescriptorError(
                f"host environment variable `{value.dora_env}` (from `__dora_env`) is not set",
                where,
            )
        return host_env[value.dora_env]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
