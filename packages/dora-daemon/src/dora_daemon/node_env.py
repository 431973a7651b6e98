"""The environment of a node process (spec/descriptor.md §7, spec/runtime.md §3).

Merge order: the daemon's environment minus scrubbed variables, the descriptor's global
``env``, the node's ``env``, then the variables the daemon injects (not overridable).
Reserved and malformed names in a descriptor are dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping

from dora_message.constants import (
    HIJACKING,
    SET_BY_DAEMON,
)
from dora_message.descriptor import EnvValue, HostEnv
from dora_message.errors import DescriptorError
from dora_message.validate import env_name_problem

# Scrubbed from the inherited environment; library search paths stay inherited on purpose.
SCRUBBED_HOST_ENV = SET_BY_DAEMON | HIJACKING


def descriptor_env(
    env: Mapping[str, EnvValue] | None,
    where: str,
    host_env: Mapping[str, str],
    warnings: list[str],
) -> dict[str, str]:
    """Stringify an ``env:`` block; ``where`` names it (``env`` or ``nodes[2].env``)."""
    out: dict[str, str] = {}
    for key, value in (env or {}).items():
        if (why := env_name_problem(key)) is not None:
            warnings.append(f"{where}: {key!r} {why}; dropped")
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
