"""Who is on the other end of a local socket (docs/security.md, "Data plane").

Abstract Unix sockets have no file permissions: anyone in the network namespace can
connect. Every accept therefore asks the kernel for the peer's credentials
(``SO_PEERCRED``) and keeps only processes of our own user, plus root when the owner
said so (``DORA_ALLOW_ROOT_PEERS=1``). The dynamic-node bootstrap is TCP on loopback,
where there is no ``SO_PEERCRED``: the connecting socket's owner is looked up in
``/proc/net/tcp`` instead. Parsing is sans-I/O; the few reads are separate.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Mapping

from dora_message.constants import ENV_ALLOW_ROOT_PEERS

log = logging.getLogger(__name__)

ENV_ALLOW_ROOT = ENV_ALLOW_ROOT_PEERS
_UCRED = struct.Struct("3i")  # pid, uid, gid


def allow_root_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Whether the owner allows root peers (``DORA_ALLOW_ROOT_PEERS`` = 1/true/yes)."""
    value = (os.environ if env is None else env).get(ENV_ALLOW_ROOT, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def uid_allowed(uid: int, own_uid: int, allow_root: bool) -> bool:
    """Our own user always; root only when allowed (we may be root ourselves)."""
    return uid == own_uid or (allow_root and uid == 0)


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process that connected ``sock`` (Unix sockets)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


def refusal(sock: socket.socket, allow_root: bool) -> str | None:
    """Why a peer of ``sock`` may not talk to us, or None when it may."""
    try:
        pid, uid, _gid = peer_credentials(sock)
    except OSError as error:
        return f"its credentials cannot be read ({error.strerror or error})"
    if uid_allowed(uid, os.geteuid(), allow_root):
        return None
    return f"pid {pid} runs as uid {uid}, not as this dataflow's user (uid {os.geteuid()})"


class RefusalLog:
    """Logs refused connections without letting a flood of them flood the log: the
    first ten, then every power of two."""

    __slots__ = ("count", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0

    def refused(self, reason: str) -> None:
        self.count += 1
        n = self.count
        if n <= 10 or n & (n - 1) == 0:
            log.warning("refused a connection to %s: %s (%d refused so far)", self.what, reason, n)


# ---- sessions (a restarting node's slot) ------------------------------------------------


def parse_stat_session(stat: str) -> int | None:
    """The session id in the text of ``/proc/<pid>/stat`` (the command name may hold
    spaces and parentheses, so fields are counted from the last ``)``)."""
    end = stat.rfind(")")
    if end < 0:
        return None
    fields = stat[end + 1 :].split()
    # state ppid pgrp session ...
    if len(fields) < 4:
        return None
    try:
        return int(fields[3])
    except ValueError:
        return None


def session_of(pid: int) -> int | None:
    """The session of process ``pid``, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as file:
            return parse_stat_session(file.read())
    except OSError:
        return None


# ---- TCP on loopback (dynamic-node bootstrap) -------------------------------------------


def _hex_endpoint(host: str, port: int) -> str | None:
    """An IPv4 endpoint as /proc/net/tcp writes it: the address as a little-endian
    32-bit hex number, then the port."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    (value,) = struct.unpack("<I", packed)
    return f"{value:08X}:{port:04X}"


def tcp_owner_uid(table: str, local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid owning the IPv4 socket bound to ``local`` and connected to ``remote``,
    from the text of ``/proc/net/tcp``; None when no such socket is listed."""
    want_local = _hex_endpoint(*local)
    want_remote = _hex_endpoint(*remote)
    if want_local is None or want_remote is None:
        return None
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        if fields[1].upper() == want_local and fields[2].upper() == want_remote:
            try:
                return int(fields[7])
            except ValueError:
                return None
    return None


def tcp_peer_uid(peer: tuple[str, int], ours: tuple[str, int]) -> int | None:
    """The uid of the process whose TCP socket ``peer`` is connected to ``ours``
    (both in this network namespace), None when it cannot be told."""
    try:
        with open("/proc/net/tcp", encoding="ascii", errors="replace") as file:
            table = file.read()
    except OSError:
        return None
    return tcp_owner_uid(table, peer, ours)
