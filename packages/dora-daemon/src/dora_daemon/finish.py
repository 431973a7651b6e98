"""Finish stragglers (spec/runtime.md §8): a node whose inputs all closed must end.

Once every input of a node has closed for good, the node was told so (STOP with
``ALL_INPUTS_CLOSED``) and should exit. If it is still running ``finish_grace_secs``
later (per node; else ``DORA_FINISH_DRAIN_GRACE_SECS``, default 120 s, ``off`` or
``disabled`` to turn it off), the daemon stops it with the normal ladder and reports it
as failed unless it exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping

from dora_message.units import parse_duration

log = logging.getLogger(__name__)

DEFAULT_FINISH_GRACE = 120.0
ENV_FINISH_GRACE = "DORA_FINISH_DRAIN_GRACE_SECS"


def default_finish_grace(environ: Mapping[str, str] = os.environ) -> float | None:
    """The dataflow-wide grace from the environment; ``None`` when turned off."""
    raw = environ.get(ENV_FINISH_GRACE, "").strip().lower()
    if not raw:
        return DEFAULT_FINISH_GRACE
    if raw in ("off", "disabled"):
        return None
    try:
        return parse_duration(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a duration", ENV_FINISH_GRACE, raw)
        return DEFAULT_FINISH_GRACE


class FinishWatch:
    """Timers that stop nodes lingering after all their inputs closed."""

    def __init__(self, default_grace: float | None) -> None:
        self.default_grace = default_grace
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def arm(
        self, node_id: str, node_grace: float | None, on_expiry: Callable[[str, float], None]
    ) -> None:
        """Start ``node_id``'s grace once (a later call for the same node does nothing)."""
        grace = node_grace if node_grace is not None else self.default_grace
        if grace is None or node_id in self._timers:
            return
        loop = asyncio.get_running_loop()
        self._timers[node_id] = loop.call_later(grace, on_expiry, node_id, grace)

    def disarm(self, node_id: str) -> None:
        """The node ended (or restarts): forget its timer."""
        timer = self._timers.pop(node_id, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Cancel every timer (the dataflow ended)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
