"""Registrations wait for the zenoh endpoints of daemons that registered before them.

A daemon's zenoh session listens on a port the system picks when the session opens, and
it opens only once the daemon is registered (it dials the daemons the coordinator names
then): so the daemon registers with ``zenoh_pending`` and sends ``zenoh_listening`` a
moment later. A daemon registering in between would learn no endpoint for it, and
neither would dial the other. Its registration therefore waits until no connected daemon
is pending (bounded: a daemon that never says is left out, once, rather than blocking
every later registration).
"""

from __future__ import annotations

import asyncio
import logging

from dora_coordinator.state import CoordinatorState

log = logging.getLogger(__name__)

SETTLE_TIMEOUT = 10.0


class ZenohWait:
    """Wakes registrations waiting for pending zenoh endpoints."""

    def __init__(self, state: CoordinatorState, timeout: float = SETTLE_TIMEOUT) -> None:
        self.state = state
        self.timeout = timeout
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """A daemon reported its endpoints or went away: waiters look again."""
        self._changed.set()  # wakes every current waiter...
        self._changed.clear()  # ...and the next wait() waits for the next change

    async def settled(self, instance_id: str) -> None:
        """Return once no other connected daemon is pending, or after the timeout
        (``instance_id``: the registering daemon, whose previous session may be)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while pending := self.state.zenoh_pending(instance_id):
            log.info(
                "a daemon registration waits for the zenoh endpoints of %s", ", ".join(pending)
            )
            try:
                async with asyncio.timeout_at(deadline):
                    await self._changed.wait()
            except TimeoutError:
                log.warning(
                    "daemon(s) %s did not report their zenoh endpoints within %g s",
                    ", ".join(pending),
                    self.timeout,
                )
                # given up once: neither later registrations nor other waiters wait again
                self.state.zenoh_silent(pending)
                self.changed()
                return
