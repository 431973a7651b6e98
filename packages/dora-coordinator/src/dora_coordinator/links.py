"""What the request handlers need of a daemon connection, and the connected set.

:class:`~dora_coordinator.daemon_link.DaemonLink` is the connection; the handlers of CLI
requests (operations, node and param requests, builds) only send commands and events
through this protocol, so they do not depend on the connection's module.
"""

from __future__ import annotations

from typing import Protocol

from dora_coordinator.errors import CoordinatorServerError
from dora_message import coordinator_to_daemon as to_daemon
from dora_message import daemon_to_coordinator as from_daemon


class DaemonCommandError(CoordinatorServerError):
    """A daemon refused a command, did not answer in time, or went away."""


class Link(Protocol):
    """One registered daemon's connection."""

    @property
    def daemon_id(self) -> str | None:
        """The id the daemon registered as."""
        ...

    async def command(
        self, command: to_daemon.DaemonCommand, timeout: float = 30.0
    ) -> from_daemon.CommandResult:
        """Send a command and wait for its reply; raises :class:`DaemonCommandError`."""
        ...

    async def send_event(self, event: to_daemon.CoordinatorEvent) -> None:
        """Send an event (nothing when the connection is gone)."""
        ...

    async def heartbeat(self) -> None:
        """Send a heartbeat, giving up quietly when the daemon does not read."""
        ...

    async def close(self, reason: str) -> None:
        """Close the connection."""
        ...


Links = dict[str, Link]
"""The connected daemons' links by daemon id (the server's and the links' own registry)."""


def connected(links: Links, daemon_id: str) -> Link:
    """The link of ``daemon_id``; raises :class:`DaemonCommandError` when it is not connected."""
    link = links.get(daemon_id)
    if link is None:
        raise DaemonCommandError(f"daemon {daemon_id} is not connected")
    return link
