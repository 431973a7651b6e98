"""The coordinator's configurable bounds, their defaults and how they are set (sans-I/O).

Everything a remote party can make the coordinator hold has a bound here: connections,
the time to say hello, replies waiting for a client that does not read, finished
dataflows kept, runtime parameters. Each bound is set by a flag of
``python -m dora_coordinator`` or, for every way of starting a coordinator (``dora up``,
``dora coordinator``), by an environment variable; a flag beats the variable. The table
:data:`SETTINGS` is the single source for both and for docs/security.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dora_coordinator.errors import CoordinatorServerError

KIB = 1024
MIB = 1024 * KIB


class LimitsError(CoordinatorServerError):
    """A bound was given a value it cannot take."""


@dataclass(frozen=True)
class Limits:
    """The bounds one coordinator runs with; the defaults are the documented ones."""

    # the first frame (CLI hello, daemon register) must arrive within this many seconds
    hello_timeout: float = 10.0
    # open WebSocket connections (control and daemon), in all and from one address
    max_connections: int = 256
    max_connections_per_address: int = 64
    # bytes of replies and events queued for one CLI connection; past it, a client
    # that does not read is disconnected (log events are dropped at half of it)
    max_reply_backlog: int = 16 * MIB
    # the same for all CLI connections together; when full, the largest backlog is cut
    max_reply_backlog_total: int = 64 * MIB
    # finished dataflows kept (for `dora list`, `dora info`, logs by UUID)
    keep_finished: int = 100
    keep_finished_seconds: float = 7 * 24 * 3600.0
    # runtime parameters (`dora param`): keys + values counted in bytes
    max_params_per_node: int = 256
    max_param_bytes_per_node: int = 1 * MIB
    max_param_bytes_per_dataflow: int = 16 * MIB


@dataclass(frozen=True)
class Setting:
    """How one field of :class:`Limits` is set from outside."""

    field: str
    flag: str
    env: str
    kind: Callable[[str], float]  # int or float
    minimum: float
    help: str

    def parse(self, text: str, source: str) -> float:
        """The value of ``text``; :class:`LimitsError` names ``source`` when it is bad."""
        what = "an integer" if self.kind is int else "a number"
        try:
            value = self.kind(text.strip())
        except ValueError:
            raise LimitsError(
                f"{source} must be {what} >= {self.minimum:g}, got {text[:40]!r}"
            ) from None
        if not value >= self.minimum or value == float("inf"):
            raise LimitsError(f"{source} must be {what} >= {self.minimum:g}, got {text[:40]!r}")
        return value


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


def limits_from(env: Mapping[str, str], flags: Mapping[str, str | None] | None = None) -> Limits:
    """Defaults, overridden by environment variables, overridden by flags (by field name)."""
    values: dict[str, float] = {}
    for setting in SETTINGS:
        flag = (flags or {}).get(setting.field)
        if flag is not None:
            values[setting.field] = setting.parse(flag, setting.flag)
        elif env.get(setting.env):
            values[setting.field] = setting.parse(env[setting.env], setting.env)
    return dataclasses.replace(Limits(), **values)
