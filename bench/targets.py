"""The target rows of DESIGN.md ("Targets"), keyed by figure.

Ratio targets are stated as an *advantage*: how many times better ours is than the peer
(peer/ours for lower-is-better figures, ours/peer for higher-is-better ones), so > 1 always
means ours is ahead. Absolute targets (delivery, ordering) apply to ours alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KB, MB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Target:
    text: str
    min_advantage: float | None = None
    absolute: Callable[[float], bool] | None = None


def _ratio(text: str, advantage: float) -> Target:
    return Target(text, min_advantage=advantage)


FIVE_TIMES_FASTER = _ratio("<= 1/5 of peer", 5.0)

TARGETS: dict[str, Target] = {
    **{f"lat_p50_{s}": FIVE_TIMES_FASTER for s in (8, 64, 512, 2 * KB, 4 * KB, 16 * KB, 64 * KB)},
    f"lat_p50_{4 * MB}": FIVE_TIMES_FASTER,
    f"lat_p50_{16 * MB}": _ratio("<= 1/20 of peer", 20.0),
    "burst_msgs_8": _ratio(">= 5x peer", 5.0),
    f"burst_gbps_{4 * MB}": _ratio(">= 4x peer", 4.0),
    "spawn_first": _ratio("<= 1/2 of peer", 2.0),
    "cpu_per_msg": FIVE_TIMES_FASTER,
    "rss_node": _ratio("<= 0.8x peer", 1 / 0.8),
    "rss_dora_run": _ratio("<= 2x peer", 0.5),
    "lat_reordered": Target("0 (ours)", absolute=lambda v: v == 0),
}
for _size in (8, 64 * KB, 4 * MB):
    TARGETS[f"burst_delivered_{_size}"] = Target("100 % (ours)", absolute=lambda v: v >= 100.0)
    TARGETS[f"burst_reordered_{_size}"] = Target("0 (ours)", absolute=lambda v: v == 0)


# the floored scenarios (floor.py, scale.py, netns.py): their ratio targets are against
# the floor (floored.FloorRow); only delivery is a target of the main table
for _key in ("chain_delivered", "fanout20_delivered", "fanin20_delivered", "netns_delivered"):
    TARGETS[_key] = Target("100 % (ours)", absolute=lambda v: v >= 100.0)


def target_for(key: str) -> Target | None:
    return TARGETS.get(key)
