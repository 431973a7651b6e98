"""The daemon's zenoh session: where it listens, whom it dials, who is there.

One session per daemon, peer mode, multicast scouting off, explicit endpoints only. It
listens on one ``tcp/IP:PORT`` endpoint: ``--zenoh-listen``, else the address this
machine uses to reach the coordinator, on port 0 -- the system picks the port and the
session reads it back from zenoh's admin space (:attr:`Mesh.endpoint` is the bound one
once open). zenoh cannot add a peer to an open session, so the session is opened after
the first registration and dials the daemons the coordinator knew then; the daemon then
reports its endpoint (``zenoh_listening``), and daemons that register later dial this
one. Should a dataflow need a peer that neither side dialed (after a coordinator restart,
say), the session is reopened, on the same port, with that peer while no dataflow uses it.

Presence is a liveliness token per daemon (:func:`daemon_token_key`); the session keeps
the set of live ``dora/**`` tokens so waiting for peers never needs a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping

import zenoh

from dora_daemon.errors import DaemonError
from dora_message.inter_daemon import daemon_token_key

log = logging.getLogger(__name__)

PEER_TIMEOUT = 10.0  # how long a spawn waits for the dataflow's other daemons
_POLL = 0.02
_ADMIN_TIMEOUT = 5.0  # the admin space answers from this process: at once


class MeshError(DaemonError):
    """The zenoh session cannot be opened or a peer daemon cannot be reached."""


def listen_endpoint(
    explicit: str | None, interface: str | None, coordinator_host: str, coordinator_port: int
) -> str:
    """The ``tcp/IP:PORT`` endpoint this daemon listens on (port 0: the system picks).

    ``explicit`` is ``--zenoh-listen IP[:PORT]``; otherwise ``interface`` (unless it is a
    wildcard) or the local address of the route to the coordinator. Wildcards are
    refused: other daemons could not dial them.
    """
    host, port = (explicit, 0) if explicit else (interface or "", 0)
    if explicit:
        host, port = _split_host_port(explicit)
    if not host or _is_wildcard(host):
        if explicit:
            raise MeshError(f"--zenoh-listen {explicit}: give an address other daemons can dial")
        host = _route_address(coordinator_host, coordinator_port)
    return _endpoint(host, port)


def _endpoint(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"tcp/{shown}:{port}"


def _split_host_port(text: str) -> tuple[str, int]:
    text = text.removeprefix("tcp/")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        ipaddress.ip_address(host)
        number = int(port) if port else 0
    except ValueError:
        raise MeshError(f"bad zenoh listen address `{text}`: expected IP[:PORT]") from None
    if not 0 <= number <= 65535:
        raise MeshError(f"bad zenoh listen port in `{text}`")
    return host, number


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _route_address(host: str, port: int) -> str:
    """The local address of the route toward ``host`` (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(address)
            return str(probe.getsockname()[0])
    except OSError as error:
        raise MeshError(f"cannot find the local address toward {host}: {error}") from None


def _bound_endpoint(session: zenoh.Session, configured: str) -> str:
    """The endpoint the session listens on for ``configured`` (whose port may be 0).

    zenoh-python has no call for it: the admin space's ``@/<zid>/peer`` reply lists the
    bound ``locators`` (``tcp/127.0.0.1:38103`` for ``tcp/127.0.0.1:0``).
    """
    host = _split_host_port(configured)[0]
    locators: list[str] = []
    for reply in session.get(f"@/{session.zid()}/peer", timeout=_ADMIN_TIMEOUT):
        if reply.ok is not None:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                locators += json.loads(bytes(reply.ok.payload.to_bytes()))["locators"]
    for locator in locators:
        with contextlib.suppress(MeshError):
            bound_host, port = _split_host_port(str(locator).partition("?")[0])
            if port and ipaddress.ip_address(bound_host) == ipaddress.ip_address(host):
                return _endpoint(bound_host, port)
    raise MeshError(f"zenoh does not say which port it listens on for {configured}: {locators}")


def _config(listen: str, connect: Iterable[str]) -> zenoh.Config:
    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("listen/endpoints", json.dumps([listen]))
    config.insert_json5("connect/endpoints", json.dumps(sorted(set(connect))))
    config.insert_json5("scouting/multicast/enabled", "false")
    # zenoh would move large messages between peers on one host through /dev/shm files,
    # which a killed daemon leaves behind; daemons are meant to be on different machines
    config.insert_json5("transport/shared_memory/enabled", "false")
    # a large message crosses as 64 KB fragments; zenoh queues 2 of them per priority by
    # default, so the bridge thread waits in ``put`` for nearly the whole transfer. With
    # 16 (zenoh's maximum, 1 MB, allocated lazily) it gets back to encoding the next
    # message sooner: 4 MB bursts about 15% faster between two namespaces
    config.insert_json5("transport/link/tx/queue/size/data", "16")
    # read-only admin space: the only place zenoh-python tells the port bound for port 0
    config.insert_json5("adminspace/enabled", "true")
    config.insert_json5("adminspace/permissions", '{"read": true, "write": false}')
    return config


class Mesh:
    """The zenoh session of one daemon. Open/close from the event loop."""

    def __init__(self, listen: str, connect: Iterable[str] = ()) -> None:
        self.endpoint = listen
        self._extra = list(connect)  # --zenoh-connect: always dialed
        self._dialed: set[str] = set()
        self._daemon_id: str | None = None
        self.session: zenoh.Session | None = None
        self._token: zenoh.LivelinessToken | None = None
        self._watch: zenoh.Subscriber | None = None
        self._lock = threading.Lock()
        self._tokens: set[str] = set()  # live liveliness tokens under dora/**
        self._on_gone: list[Callable[[str], None]] = []  # called with a vanished token
        self._opened = asyncio.Event()
        self._opening: asyncio.Lock = asyncio.Lock()
        self.users = 0  # dataflow bridges using the session now

    @property
    def daemon_id(self) -> str | None:
        """The id of the daemon this session belongs to (once opened)."""
        return self._daemon_id

    # ---- lifecycle -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the session is open (:attr:`endpoint` is then the bound one)."""
        return self.session is not None

    async def open(self, daemon_id: str, peers: Iterable[str]) -> None:
        """Open the session (once), dialing ``peers``; later calls only note the peers."""
        async with self._opening:
            self._daemon_id = daemon_id
            wanted = {p for p in peers if p != self.endpoint}
            if self.session is not None:
                return
            await self._open(wanted)

    async def _open(self, dial: set[str]) -> None:
        assert self._daemon_id is not None
        connect = dial | set(self._extra)
        try:
            session = await asyncio.to_thread(zenoh.open, _config(self.endpoint, connect))
        except zenoh.ZError as error:
            raise MeshError(f"cannot open the zenoh session on {self.endpoint}: {error}") from None
        # port 0 (the first open without --zenoh-listen PORT): ask zenoh which it bound; a
        # reopen listens where the first session did, the port peers were told
        if _split_host_port(self.endpoint)[1] == 0:
            try:
                self.endpoint = await asyncio.to_thread(_bound_endpoint, session, self.endpoint)
            except (MeshError, zenoh.ZError) as error:
                await asyncio.to_thread(session.close)
                raise MeshError(
                    f"cannot open the zenoh session on {self.endpoint}: {error}"
                ) from None
        self._dialed = dial
        self.session = session
        with self._lock:
            self._tokens.clear()
        self._watch = session.liveliness().declare_subscriber(
            "dora/**", self._on_token, history=True
        )
        self._token = session.liveliness().declare_token(daemon_token_key(self._daemon_id))
        self._opened.set()
        log.info("zenoh session listening on %s (dialing %s)", self.endpoint, sorted(connect))

    def close(self) -> None:
        """Close the session (blocking briefly)."""
        session, self.session = self.session, None
        self._opened.clear()
        if session is not None:
            with contextlib.suppress(zenoh.ZError):
                session.close()

    def _on_token(self, sample: zenoh.Sample) -> None:
        key = str(sample.key_expr)
        with self._lock:
            if sample.kind == zenoh.SampleKind.PUT:
                self._tokens.add(key)
                return
            self._tokens.discard(key)
            watchers = list(self._on_gone)
        for watcher in watchers:  # zenoh's thread: watchers must be thread-safe
            try:
                watcher(key)
            except Exception:
                log.exception("a liveliness watcher failed")

    def watch_gone(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(token key)`` (on a zenoh thread) whenever a token vanishes.

        Returns the function that stops watching.
        """
        with self._lock:
            self._on_gone.append(callback)

        def unwatch() -> None:
            with self._lock:
                if callback in self._on_gone:
                    self._on_gone.remove(callback)

        return unwatch

    # ---- queries ---------------------------------------------------------------

    def has_token(self, key: str) -> bool:
        """Whether a liveliness token ``key`` is alive on a connected session."""
        with self._lock:
            return key in self._tokens

    async def wait_tokens(self, keys: Iterable[str], timeout: float) -> list[str]:
        """Wait until every token in ``keys`` is alive; returns those still missing."""
        wanted = list(keys)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            missing = [k for k in wanted if not self.has_token(k)]
            if not missing or loop.time() >= deadline:
                return missing
            await asyncio.sleep(_POLL)

    async def ensure_peers(self, peers: Mapping[str, list[str]], timeout: float) -> zenoh.Session:
        """Return the session once every daemon in ``peers`` (id -> endpoints) is there.

        Raises :class:`MeshError` naming the daemons that did not show up.
        """
        try:
            async with asyncio.timeout(timeout):
                await self._opened.wait()
        except TimeoutError:
            raise MeshError("the zenoh session of this daemon is not open") from None
        keys = {daemon_token_key(d): d for d in peers}
        missing = await self.wait_tokens(keys, min(1.0, timeout))
        if missing:
            endpoints = {e for k in missing for e in peers[keys[k]]}
            undialed = endpoints - self._dialed - {self.endpoint}
            if undialed and self.users == 0:
                # neither side dialed the other: reopen dialing them (nothing uses us now)
                async with self._opening:
                    if self.users == 0 and self.session is not None:
                        log.info("reopening the zenoh session to dial %s", sorted(undialed))
                        await asyncio.to_thread(self.close)
                        await self._open(self._dialed | undialed)
            missing = await self.wait_tokens(keys, timeout)
        if missing:
            names = ", ".join(
                f"{keys[k]} ({', '.join(peers[keys[k]]) or 'no endpoint'})" for k in missing
            )
            raise MeshError(f"cannot reach daemon(s) over zenoh: {names}")
        assert self.session is not None
        return self.session
