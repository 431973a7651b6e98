"""The start barrier, sans-I/O (spec/runtime.md §4).

Every static node's ``Subscribe`` is answered only once all of them subscribed. A node
that exits cleanly before subscribing simply leaves the cohort; one that fails first
decides the barrier with an error, which every parked and later subscriber receives.
"""

from __future__ import annotations

from collections.abc import Iterable


class StartBarrier:
    """Tracks which nodes of the cohort are still missing, and the latched verdict."""

    __slots__ = ("_missing", "error", "released")

    def __init__(self, cohort: Iterable[str]) -> None:
        self._missing = set(cohort)
        self.released = not self._missing  # an empty cohort has nothing to wait for
        self.error: str | None = None

    @property
    def decided(self) -> bool:
        """Whether subscribers can be answered (released or failed)."""
        return self.released or self.error is not None

    @property
    def missing(self) -> frozenset[str]:
        """Nodes of the cohort that have not subscribed yet."""
        return frozenset(self._missing)

    def subscribed(self, node_id: str) -> bool:
        """Record a subscription; True when this call released the barrier."""
        self._missing.discard(node_id)
        return self._release_if_complete()

    def exited(self, node_id: str, clean: bool, error: str) -> bool:
        """Record that ``node_id`` exited before subscribing; True when that decided it.

        ``clean`` exits (status 0) leave the cohort; any other exit fails the barrier
        with ``error``. Exits after the verdict change nothing.
        """
        if node_id not in self._missing or self.decided:
            return False
        self._missing.discard(node_id)
        if clean:
            return self._release_if_complete()
        self.error = error
        return True

    def _release_if_complete(self) -> bool:
        if self.decided or self._missing:
            return False
        self.released = True
        return True
