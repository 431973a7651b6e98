"""The coordinator process: a WebSocket server for CLIs and daemons.

Endpoints (one port, default 127.0.0.1:6013): ``/api/control`` for the CLI,
``/api/daemon`` for daemons, ``/health`` answers ``ok`` over plain HTTP. With a token
configured, every WebSocket handshake must carry ``Authorization: Bearer <token>`` or is
refused with HTTP 401. Frames are limited to 1 MiB, and so are a daemon's until it has
registered; a registered daemon may send 64 MiB (log replies). A larger frame closes that
connection (code 1009) and nothing else. Connections beyond the total or per-address
bound (:mod:`dora_coordinator.limits`) are refused with HTTP 503 before the upgrade.

A tick every 3 s sends heartbeats to the daemons, disconnects daemons silent for 30 s,
fails dataflows whose recovery timed out and forgets finished dataflows past their age.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from dora_coordinator.auth import bearer_ok, load_or_create_token
from dora_coordinator.background import Background
from dora_coordinator.backlog import BacklogPool
from dora_coordinator.builds import Builds
from dora_coordinator.cli_handler import ControlSession, ControlSide
from dora_coordinator.connection_limits import ConnectionLimiter
from dora_coordinator.daemon_link import DaemonLink, DaemonSide
from dora_coordinator.limits import Limits
from dora_coordinator.links import Links
from dora_coordinator.logs import LogHub
from dora_coordinator.operations import DataflowOperations
from dora_coordinator.state import CoordinatorState
from dora_coordinator.store import Store, open_store
from dora_coordinator.tracing import SpanRecorder
from dora_coordinator.zenoh_wait import ZenohWait
from dora_message.constants import DEFAULT_COORDINATOR_PORT, LOCALHOST

log = logging.getLogger(__name__)

CONTROL_PATH = "/api/control"
DAEMON_PATH = "/api/daemon"
HEALTH_PATH = "/health"
MAX_FRAME = 1024 * 1024  # every connection; a daemon's grows once it has registered
DEFAULT_PORT = DEFAULT_COORDINATOR_PORT
# How long a peer we close has to answer the closing handshake before the socket is cut:
# a client that never reads never answers, and keeps its connection slot until then.
CLOSE_TIMEOUT = 2.0
MAX_REFUSING_TRACKED = 1024  # addresses remembered to log one warning per flood


@dataclass
class CoordinatorConfig:
    """How the coordinator runs; the defaults are the documented ones."""

    interface: str = LOCALHOST
    port: int = DEFAULT_PORT
    store: str = "memory"
    token_file: Path | None = None
    heartbeat_interval: float = 3.0
    daemon_timeout: float = 30.0
    recovery_timeout: float = 60.0
    spawn_timeout: float = 60.0
    # None: the defaults (the command fills it from flags and DORA_COORDINATOR_* variables)
    limits: Limits | None = None


class Coordinator:
    """One coordinator: its parts, wired together, and the server that feeds them.

    The state decides; :class:`DataflowOperations` carries out the lifecycle, each
    :class:`DaemonLink` and :class:`ControlSession` is one connection and gets only the
    parts it uses (:class:`DaemonSide`, :class:`ControlSide`).
    """

    def __init__(self, config: CoordinatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.token = load_or_create_token(config.token_file) if config.token_file else None
        self.limits = config.limits or Limits()
        self.store = store if store is not None else open_store(config.store)
        self.state = CoordinatorState(
            self.store,
            recovery_timeout=config.recovery_timeout,
            daemon_timeout=config.daemon_timeout,
            limits=self.limits,
        )
        self.hub = LogHub()
        self.links: Links = {}  # the registered daemons
        self.background = Background()
        tracer = SpanRecorder()
        self.ops = DataflowOperations(
            self.state,
            self.hub,
            self.links,
            self.background,
            tracer,
            on_finished=self._push_finished,
            spawn_timeout=config.spawn_timeout,
        )
        self.builds = Builds(self.state, self.links, tracer, self.background)
        self.zenoh_wait = ZenohWait(self.state)
        self.daemon_side = DaemonSide(
            state=self.state,
            links=self.links,
            hub=self.hub,
            lifecycle=self.ops,
            on_build_output=self.builds.output,
            zenoh_wait=self.zenoh_wait,
            background=self.background,
            hello_timeout=self.limits.hello_timeout,
        )
        self.control_side = ControlSide(
            ops=self.ops,
            builds=self.builds,
            hub=self.hub,
            limits=self.limits,
            reply_pool=BacklogPool(self.limits.max_reply_backlog_total),
            background=self.background,
            version=version("dora-coordinator"),
            request_shutdown=self.request_shutdown,
        )
        self.port: int | None = None
        self.connections = ConnectionLimiter(
            self.limits.max_connections, self.limits.max_connections_per_address
        )
        self._refusing: set[str] = set()  # addresses refused since their last admission
        self._shutdown: asyncio.Event | None = None

    async def run(self, on_ready: Callable[[int], None] | None = None) -> None:
        """Serve until :meth:`request_shutdown` (or cancellation); ``on_ready(port)``."""
        self._shutdown = asyncio.Event()
        recovering = self.state.recover(time.time())
        if recovering:
            log.warning(
                "%d unfinished dataflow(s) wait for their daemons: %s",
                len(recovering),
                ", ".join(recovering),
            )
        self.ops.forget_finished()  # the store may hold more than this coordinator keeps
        try:
            async with serve(
                self._handle,
                self.config.interface,
                self.config.port,
                process_request=self._process_request,
                max_size=MAX_FRAME,
                close_timeout=CLOSE_TIMEOUT,
            ) as server:
                self.port = server.sockets[0].getsockname()[1]
                log.info("listening on %s:%d", self.config.interface, self.port)
                if on_ready is not None:
                    on_ready(self.port)
                ticker = asyncio.create_task(self._tick())
                try:
                    await self._shutdown.wait()
                finally:
                    ticker.cancel()
        finally:
            self.store.close()

    def request_shutdown(self) -> None:
        """Stop serving (the daemons keep their nodes running and reconnect later)."""
        if self._shutdown is not None:
            self._shutdown.set()

    def _push_finished(self, uuid: str) -> None:
        self.control_side.push_finished(uuid)

    # ---- connections -----------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if path == HEALTH_PATH:
            return connection.respond(200, "ok\n")
        if path not in (CONTROL_PATH, DAEMON_PATH):
            return connection.respond(404, f"unknown path; use {CONTROL_PATH} or {DAEMON_PATH}\n")
        if self.token is not None and not bearer_ok(
            request.headers.get("Authorization"), self.token
        ):
            log.warning(
                "refused %s from %s: missing or wrong token", path, connection.remote_address
            )
            return connection.respond(401, "authentication failed: missing or wrong token\n")
        address = str(connection.remote_address[0]) if connection.remote_address else "?"
        refusal = self.connections.admit(address)
        if refusal is not None:
            # one warning per flood, not one per refused connection
            level = logging.DEBUG if address in self._refusing else logging.WARNING
            if len(self._refusing) >= MAX_REFUSING_TRACKED:
                self._refusing.clear()  # many addresses: warn again rather than grow
            self._refusing.add(address)
            log.log(level, "refused %s from %s: %s", path, address, refusal)
            return connection.respond(503, f"{refusal}\n")
        self._refusing.discard(address)
        # the slot is held until the TCP connection is gone, handshake or not
        self.background.run(self._release_when_closed(connection, address))
        return None

    async def _release_when_closed(self, connection: ServerConnection, address: str) -> None:
        try:
            await connection.wait_closed()
        finally:
            self.connections.release(address)

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        path = connection.request.path.partition("?")[0]
        if path == DAEMON_PATH:
            await DaemonLink(self.daemon_side, connection).run()
        else:
            await ControlSession(self.control_side, connection).run()

    # ---- timers ----------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            try:
                await self._tick_once()
            except Exception:
                log.exception("coordinator tick failed")

    async def _tick_once(self) -> None:
        links = list(self.links.values())
        await asyncio.gather(*(link.heartbeat() for link in links), return_exceptions=True)
        now = time.time()
        for daemon_id in self.state.silent_daemons(now):
            log.warning(
                "daemon %s sent nothing for %g s: disconnecting it",
                daemon_id,
                self.config.daemon_timeout,
            )
            link = self.links.pop(daemon_id, None)
            self.daemon_side.forget(daemon_id)
            if link is not None:
                self.background.run(link.close("no heartbeat"))
        for uuid in self.state.expire_recoveries(now):
            self.ops.dataflow_ended(uuid)
        self.ops.forget_finished()
