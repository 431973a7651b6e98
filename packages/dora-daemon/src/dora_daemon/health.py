"""The health check and the fault counters, sans-I/O (spec/runtime.md §8).

A node with ``health_check_timeout`` is killed when it is live (subscribed, start
barrier passed, not finished with dora) and the daemon heard nothing from it for longer
than the timeout. What the daemon hears is any message on the node's control connection;
the node API sends a keep-alive while the node's code keeps calling into dora (see
``dora._watch``). The daemon sweeps every ``health_check_interval`` (default 5 s), so a
silent node is killed between ``timeout`` and ``timeout + interval`` after its last
message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_INTERVAL = 5.0


def silent_nodes(
    now: float,
    timeouts: Mapping[str, float],
    last_activity: Callable[[str], float | None],
) -> list[tuple[str, float]]:
    """``(node, seconds of silence)`` for every watched node silent past its timeout.

    ``last_activity`` returns None for a node that is not watched right now.
    """
    silent = []
    for node_id, timeout in timeouts.items():
        last = last_activity(node_id)
        if last is not None and now - last > timeout:
            silent.append((node_id, now - last))
    return silent


@dataclass
class FaultCounters:
    """Cumulative fault-tolerance counters of one dataflow run."""

    restarts: int = 0
    health_check_kills: int = 0
    input_timeouts: int = 0
    circuit_breaker_recoveries: int = 0
    _broken: dict[str, set[str]] = field(default_factory=dict)

    def broken_inputs(self, node_id: str, input_ids: list[str]) -> tuple[set[str], set[str]]:
        """Record a node's broken inputs; returns (newly broken, recovered)."""
        now = set(input_ids)
        before = self._broken.get(node_id, set())
        self._broken[node_id] = now
        broke, recovered = now - before, before - now
        self.input_timeouts += len(broke)
        self.circuit_breaker_recoveries += len(recovered)
        return broke, recovered

    def forget(self, node_id: str) -> None:
        """The node's process is gone: its inputs are not broken any more."""
        self._broken.pop(node_id, None)

    def broken(self, node_id: str) -> list[str]:
        """The node's broken inputs now."""
        return sorted(self._broken.get(node_id, ()))

    def summary(self) -> str:
        """``restarts=1 health_check_kills=0 ...`` for logs."""
        return (
            f"restarts={self.restarts} health_check_kills={self.health_check_kills} "
            f"input_timeouts={self.input_timeouts} "
            f"circuit_breaker_recoveries={self.circuit_breaker_recoveries}"
        )
