"""Which outputs cross machines, seen from one daemon (sans-I/O)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BridgePlan:
    """What one daemon publishes and delivers for one dataflow."""

    # local producer -> its outputs read on other daemons
    published: dict[str, list[str]] = field(default_factory=dict)
    # remote producer -> its output -> local receiver nodes
    delivered: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # other daemons reading our outputs: their subscribers must exist before we send
    consumer_daemons: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing crosses machines from or to this daemon."""
        return not self.published and not self.delivered


def plan_bridge(
    consumers: Mapping[tuple[str, str], Mapping[str, list[str]]],
    local: Collection[str],
    node_daemons: Mapping[str, str],
) -> BridgePlan:
    """The plan for the daemon running ``local``.

    ``consumers`` is the dataflow's routing table ((producer, output) -> {receiver:
    input ids}); ``node_daemons`` maps every node to its daemon.
    """
    plan = BridgePlan()
    readers: set[str] = set()
    for (producer, output), receivers in consumers.items():
        if producer in local:
            remote = [r for r in receivers if r not in local]
            if remote:
                plan.published.setdefault(producer, []).append(output)
                readers.update(node_daemons[r] for r in remote if r in node_daemons)
        else:
            here = [r for r in receivers if r in local]
            if here:
                plan.delivered.setdefault(producer, {})[output] = here
    plan.consumer_daemons.extend(sorted(readers))
    return plan
