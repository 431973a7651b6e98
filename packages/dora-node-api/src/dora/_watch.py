"""Periodic duties of a node: the queue report, the health-check keep-alive and the
input timeouts.

One daemon thread per node.

*Queue report.* Every ``REPORT_PERIOD`` the thread tells the daemon how many received
messages wait in the node's input queues (``PendingInputs``), when that number changed,
for ``dora top`` and ``dora node info``.

*Drop report.* At the same pace, the messages that could not reach a receiver since the
previous report (``DroppedMessages``, see ``Sender.flush_drops``), if any.

*Keep-alive.* The daemon kills a node that shows no activity for its
``health_check_timeout``; activity is any message from the node to its daemon. Every
quarter of the timeout, this thread sends a ``Heartbeat`` -- but only if the node's
code called into dora since the previous beat (``next``, ``recv_async``, ``try_recv``,
``drain``, ``send_output`` ...) or is blocked waiting for an event right now. A node
that is stuck in its own code, deadlocked or frozen stops beating and is killed; a node
that merely waits for inputs that do not come is alive.

*Input timeouts.* Every tenth of the shortest ``input_timeout`` (10 ms .. 1 s) the
scheduler breaks the inputs that went silent for their timeout (``INPUT_CLOSED``),
wakes whoever waits for events, and tells the daemon which inputs are broken now
(``BrokenInputs``, so node status shows ``Degraded``) whenever that set changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

BEATS_PER_TIMEOUT = 4
MIN_PERIOD = 0.01
MAX_TICK = 1.0
REPORT_PERIOD = 1.0  # seconds between queue-length reports (the daemon samples every 2 s)


def heartbeat_period(timeout: float) -> float:
    """How often a node with ``health_check_timeout`` beats."""
    return max(timeout / BEATS_PER_TIMEOUT, MIN_PERIOD)


def breaker_tick(timeouts: list[float]) -> float:
    """How often input deadlines are checked."""
    return min(max(min(timeouts) / 10, MIN_PERIOD), MAX_TICK)


class Watch:
    """The node's periodic thread (see the module docstring)."""

    def __init__(
        self,
        *,
        beat_period: float | None,
        responsive: Callable[[], bool],
        beat: Callable[[], object],
        check_period: float | None,
        expire: Callable[[], tuple[list[str], list[str]]],
        wake: Callable[[], None],
        report_broken: Callable[[list[str]], object],
        pending: Callable[[], int],
        report_pending: Callable[[int], object],
        report_drops: Callable[[], object] | None = None,
        report_period: float = REPORT_PERIOD,
    ) -> None:
        self._beat_period = beat_period
        self._responsive = responsive
        self._beat = beat
        self._check_period = check_period
        self._expire = expire
        self._wake = wake
        self._report_broken = report_broken
        self._pending = pending
        self._report_pending = report_pending
        self._report_drops = report_drops
        self._report_period = report_period
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (idempotent)."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def _run(self) -> None:
        now = time.monotonic()
        far = float("inf")
        next_beat = now + self._beat_period if self._beat_period else far
        next_check = now + self._check_period if self._check_period else far
        next_report = now + self._report_period
        reported: list[str] = []
        queued = 0  # the daemon assumes empty queues until told otherwise
        while not self._stopped.wait(max(0.0, min(next_beat, next_check, next_report) - now)):
            now = time.monotonic()
            try:
                if now >= next_report:
                    next_report = now + self._report_period
                    pending = self._pending()
                    if pending != queued:
                        queued = pending
                        self._report_pending(pending)
                    if self._report_drops is not None:
                        self._report_drops()  # messages receivers missed (if any)
                if now >= next_beat:
                    assert self._beat_period is not None
                    next_beat = now + self._beat_period
                    if self._responsive():
                        self._beat()
                if now >= next_check:
                    assert self._check_period is not None
                    next_check = now + self._check_period
                    fired, broken = self._expire()
                    if fired:
                        logger.warning(
                            "input%s %s timed out (input_timeout): circuit breaker open",
                            "s" if len(fired) > 1 else "",
                            ", ".join(f"`{i}`" for i in fired),
                        )
                        self._wake()
                    if broken != reported:
                        reported = broken
                        self._report_broken(broken)
            except Exception:  # the node must keep running; the next tick tries again
                logger.exception("node watch thread")
