"""Supervision state of one spawned node across its incarnations, sans-I/O."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from dora_daemon.core.ladder import Ladder
from dora_daemon.restart import RestartTracker


class LastExit(msgspec.Struct, frozen=True):
    """How the node's latest incarnation ended (kept for a restart that does not happen)."""

    returncode: int
    subscribed: bool
    stderr_tail: Sequence[str] = ()


class Supervised(msgspec.Struct, eq=False):
    """One node the daemon spawns: its status, restart bookkeeping and pending deadlines."""

    tracker: RestartTracker | None  # None: never restarts (a kind dora does not restart)
    health_timeout: float | None
    status: str = "Running"  # Running | Restarting | Failed | Stopped
    running: bool = False  # an incarnation's process runs (spawned, exit not handled yet)
    force_restart: bool = False  # the next exit restarts (dora node restart)
    stop_requested: bool = False  # dora node stop: never restart, a planned stop
    ladder: Ladder | None = None  # this node's own stop ladder (node stop / restart / finish)
    restart_at: float | None = None  # the backoff before the next incarnation ends then
    last_exit: LastExit | None = None

    @property
    def done(self) -> bool:
        """Ended for good (its result is final)."""
        return self.status in ("Stopped", "Failed")

    @property
    def restarts(self) -> int:
        """Restarts so far (0 for a node that never restarts)."""
        return self.tracker.restarts if self.tracker is not None else 0
