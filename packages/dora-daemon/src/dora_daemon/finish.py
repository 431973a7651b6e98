"""Finish stragglers (spec/runtime.md §8): a node whose inputs all closed must end.

Once every input of a node has closed for good, the node was told so (STOP with
``ALL_INPUTS_CLOSED``) and should exit. If it is still running ``finish_grace_secs``
later (per node; else ``DORA_FINISH_DRAIN_GRACE_SECS``, default 120 s, ``off`` or
``disabled`` to turn it off), the daemon stops it with the normal ladder and reports it
as failed unless it exits 0. The deadlines live in the dataflow's core
(:mod:`dora_daemon.core.dataflow`); this module knows the default.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from dora_message.constants import ENV_FINISH_DRAIN_GRACE_SECS
from dora_message.units import parse_duration

log = logging.getLogger(__name__)

DEFAULT_FINISH_GRACE = 120.0
ENV_FINISH_GRACE = ENV_FINISH_DRAIN_GRACE_SECS


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
