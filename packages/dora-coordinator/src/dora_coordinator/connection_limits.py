"""Admission of WebSocket connections: a total and a per-address bound (sans-I/O).

A slot is taken when the HTTP upgrade is accepted and given back when the TCP connection
is gone, so connections that never finish their handshake or never say hello count too
(the hello deadline ends those). The per-address bound keeps one remote host from taking
the whole pool; loopback clients all share one address, so on a single machine it is the
hello deadline and the token that protect the pool.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class ConnectionLimiter:
    """Counts open connections, in all and by remote address."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total = total
        self.per_address = per_address
        self._open: Counter[str] = Counter()
        self._count = 0

    @property
    def open(self) -> int:
        """Connections holding a slot."""
        return self._count

    def admit(self, address: str) -> str | None:
        """Take a slot for ``address``; returns why not when there is none."""
        if self._count >= self.total:
            return f"too many connections (limit {self.total})"
        if self._open[address] >= self.per_address:
            return f"too many connections from {address} (limit {self.per_address} per address)"
        self._open[address] += 1
        self._count += 1
        return None

    def release(self, address: str) -> None:
        """Give back a slot taken by :meth:`admit`."""
        if self._open[address] <= 0:
            return
        self._open[address] -= 1
        self._count -= 1
        if not self._open[address]:
            del self._open[address]


def peer_name(address: Any) -> str:
    """``host:port`` of a socket's peer address (IPv4 or IPv6 tuple), for logs."""
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return "?"
