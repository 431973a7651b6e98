"""When may a producer's type feed a consumer's: exact, wildcard params, widening, rules.

Order (spec A5): a consumer of ``std/core/v1/Bytes`` accepts anything; the same base
matches when the parameters agree; otherwise a breadth-first search over widening edges
(built-in plus the dataflow's ``type_rules``) follows at most three edges. Structural
similarity never makes two different URNs compatible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from dora_message.types.urn import params_agree, parse_urn

__all__ = [
    "BUILTIN_WIDENING",
    "BYTES",
    "MAX_WIDENING_HOPS",
    "PATTERN_KEYS",
    "TIMER_TYPE",
    "CompatibilityGraph",
]

BYTES = "std/core/v1/Bytes"
#: What every ``dora/timer/...`` input carries.
TIMER_TYPE = "std/core/v1/UInt64"
MAX_WIDENING_HOPS = 3

BUILTIN_WIDENING: tuple[tuple[str, str], ...] = (
    ("std/core/v1/UInt8", "std/core/v1/UInt32"),
    ("std/core/v1/UInt32", "std/core/v1/UInt64"),
    ("std/core/v1/Int32", "std/core/v1/Int64"),
    ("std/core/v1/Float32", "std/core/v1/Float64"),
)

#: Metadata keys implied by each ``pattern:`` shorthand.
PATTERN_KEYS: dict[str, tuple[str, ...]] = {
    "service-server": ("request_id",),
    "service-client": ("request_id",),
    "action-server": ("goal_id", "goal_status"),
    "action-client": ("goal_id",),
}


class CompatibilityGraph:
    """Implicit-conversion edges between base URNs."""

    def __init__(self, rules: Iterable[tuple[str, str]] = ()) -> None:
        self.edges: dict[str, list[str]] = {}
        for source, target in (*BUILTIN_WIDENING, *rules):
            # Rules are stored as written; a parameterised rule target therefore never
            # equals a stripped base and never matches (mainline behaviour, spec A5).
            self.edges.setdefault(source, []).append(target)

    def is_compatible(self, producer: str, consumer: str) -> bool:
        """Whether data declared ``producer`` may flow into an input expecting ``consumer``."""
        if consumer == BYTES:
            return True
        parsed_from, parsed_to = parse_urn(producer), parse_urn(consumer)
        source = parsed_from.base if parsed_from else producer
        target = parsed_to.base if parsed_to else consumer
        if source == target:
            if parsed_from is None or parsed_to is None:
                return True
            return params_agree(parsed_from.params, parsed_to.params)
        queue = deque([(source, 0)])
        seen = {source}
        while queue:
            current, hops = queue.popleft()
            if hops >= MAX_WIDENING_HOPS:
                continue
            for following in self.edges.get(current, ()):
                if following == target:
                    return True
                if following not in seen:
                    seen.add(following)
                    queue.append((following, hops + 1))
        return False
