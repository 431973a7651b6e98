"""The coordinator's configurable bounds and their defaults (sans-I/O).

Everything a remote party can make the coordinator hold has a bound here: connections,
the time to say hello, replies waiting for a client that does not read, finished
dataflows kept, runtime parameters. How each is set (a flag, else an environment
variable) is :data:`dora_coordinator.bound_flags.SETTINGS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dora_coordinator.bound_flags import KIB, SETTINGS, Setting
from dora_coordinator.errors import CoordinatorServerError

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


def limits_from(env: Mapping[str, str], flags: Mapping[str, str | None] | None = None) -> Limits:
    """Defaults, overridden by environment variables, overridden by flags (by field name)."""
    values: dict[str, float] = {}
    for setting in SETTINGS:
        flag = (flags or {}).get(setting.field)
        if flag is not None:
            values[setting.field] = _parse(setting, flag, setting.flag)
        elif env.get(setting.env):
            values[setting.field] = _parse(setting, env[setting.env], setting.env)
    return dataclasses.replace(Limits(), **values)


def _parse(setting: Setting, text: str, source: str) -> float:
    """The value of ``text``; :class:`LimitsError` names ``source`` when it is bad."""
    try:
        value: float | None = setting.kind(text.strip())
    except ValueError:
        value = None
    # `not >=` also refuses nan
    if value is None or not value >= setting.minimum or value == float("inf"):
        what = "an integer" if setting.kind is int else "a number"
        raise LimitsError(f"{source} must be {what} >= {setting.minimum:g}, got {text[:40]!r}")
    return value
