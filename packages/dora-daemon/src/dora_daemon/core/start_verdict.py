"""The start barrier seen from the core: which node's early failure failed the start
(the culprit), and which failures merely follow it."""

from __future__ import annotations

from collections.abc import Iterable

from dora_daemon.barrier import StartBarrier


class StartVerdict:
    """The run's :class:`StartBarrier` (the control server records subscriptions in it)
    and the culprit of a failed start."""

    def __init__(self, static_nodes: Iterable[str]) -> None:
        self.barrier = StartBarrier(static_nodes)
        self.culprit: str | None = None

    def spawn_failed(self, node_id: str) -> None:
        """A node that could not even start fails an undecided start."""
        if not self.barrier.decided:
            self.culprit = node_id

    def exited(self, node_id: str, returncode: int, subscribed: bool) -> str | None:
        """Note a failure before subscribing; the culprit whose failure this one follows
        (a node parked in the barrier got its error), if any."""
        if not subscribed and not self.barrier.decided and returncode != 0:
            self.culprit = node_id
        return self.culprit if self.barrier.error and subscribed else None
