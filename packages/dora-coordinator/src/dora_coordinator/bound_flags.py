"""How each of the coordinator's bounds is set from outside: its flag, its environment
variable, the kind and least value it takes (sans-I/O).

Each bound is set by a flag of ``python -m dora_coordinator`` / ``dora coordinator`` or,
for every way of starting a coordinator (``dora up`` too), by an environment variable; a
flag beats the variable. The table :data:`SETTINGS` is the single source for both, for
the command's ``--help`` and for docs/security.md; :func:`~dora_coordinator.limits.limits_from`
reads values with it. It is kept apart from :mod:`dora_coordinator.limits` because
``--help`` imports it and must stay cheap: no dataclass here (making one costs about a
millisecond), no other import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

KIB = 1024


class Setting(NamedTuple):
    """How one field of :class:`~dora_coordinator.limits.Limits` is set from outside."""

    field: str
    flag: str
    env: str
    kind: Callable[[str], float]  # int or float
    minimum: float
    help: str


def _setting(field: str, kind: Callable[[str], float], minimum: float, help: str) -> Setting:
    name = field.replace("_", "-")
    return Setting(field, f"--{name}", f"DORA_COORDINATOR_{field.upper()}", kind, minimum, help)


SETTINGS: tuple[Setting, ...] = (
    _setting("hello_timeout", float, 0.1, "seconds a new connection has to send its hello"),
    _setting("max_connections", int, 1, "open connections in all"),
    _setting("max_connections_per_address", int, 1, "open connections from one address"),
    _setting("max_reply_backlog", int, 64 * KIB, "bytes queued for a CLI that does not read"),
    _setting("max_reply_backlog_total", int, 64 * KIB, "bytes queued for all CLIs together"),
    _setting("keep_finished", int, 1, "finished dataflows kept"),
    _setting("keep_finished_seconds", float, 1.0, "seconds a finished dataflow is kept"),
    _setting("max_params_per_node", int, 1, "runtime parameters per node"),
    _setting("max_param_bytes_per_node", int, 64 * KIB + 256, "parameter bytes per node"),
    _setting("max_param_bytes_per_dataflow", int, 64 * KIB + 256, "parameter bytes per dataflow"),
)
