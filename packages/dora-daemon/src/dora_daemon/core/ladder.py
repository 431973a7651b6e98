"""The stop ladder, sans-I/O (spec/runtime.md §8).

After STOP went out, a node has ``grace`` seconds to exit; then its process group gets
SIGTERM, and half a grace later SIGKILL. The ladder only says which signal falls due
when; whoever holds it sends them to the nodes still running.
"""

from __future__ import annotations

import signal

import msgspec


class Ladder(msgspec.Struct):
    """The deadlines of one ladder (a whole dataflow's, or one node's)."""

    grace: float
    term_at: float
    kill_at: float
    term_sent: bool = False
    kill_sent: bool = False

    @classmethod
    def start(cls, now: float, grace: float) -> Ladder:
        """STOP went out at ``now``."""
        return cls(grace=grace, term_at=now + grace, kill_at=now + grace + grace / 2)

    @property
    def done(self) -> bool:
        """Every rung was climbed."""
        return self.kill_sent

    def next_deadline(self) -> float | None:
        """When the next signal falls due (None: nothing left)."""
        if not self.term_sent:
            return self.term_at
        if not self.kill_sent:
            return self.kill_at
        return None

    def due(self, now: float) -> list[signal.Signals]:
        """The signals that fell due by ``now``, in order; each is returned once."""
        signals = []
        if not self.term_sent and now >= self.term_at:
            self.term_sent = True
            signals.append(signal.SIGTERM)
        if self.term_sent and not self.kill_sent and now >= self.kill_at:
            self.kill_sent = True
            signals.append(signal.SIGKILL)
        return signals
