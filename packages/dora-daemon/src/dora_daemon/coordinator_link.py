"""The daemon's connection to its coordinator (``ws://ADDR:PORT/api/daemon``).

One session: send ``register`` (with the zenoh endpoint, or ``zenoh_pending`` before the
first session opens: a ``zenoh_listening`` event then says where it listens), wait for
``registered``, send a status report of what runs here, then serve commands, send
heartbeats every 5 s, and forward events (node logs batched every 50 ms). No frame from
the coordinator for 20 s (it sends a heartbeat every 3 s) ends the session. Between
sessions the nodes keep running and the link reconnects, with the backoff of
``websockets.connect`` used as an iterator: at once after a lost session, then 0-1 s,
1 s doubling to 5 s between failed attempts. It gives up ``reconnect_timeout`` seconds
after a loss without a new session (before the first one it keeps trying). A refused
token (401) or registration is final. A failed attempt is logged once, then quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field
from importlib.metadata import version

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import backoff
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from dora_daemon.errors import DaemonError
from dora_daemon.service import DaemonService
from dora_message import coordinator_to_daemon as from_coord
from dora_message import daemon_to_coordinator as ev
from dora_message.common import LogMessage
from dora_message.constants import DEFAULT_COORDINATOR_PORT, LOCALHOST
from dora_message.errors import DoraError

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5.0
SILENCE_TIMEOUT = 20.0
REGISTER_TIMEOUT = 30.0
LOG_FLUSH_DELAY = 0.05
LOG_BATCH = 500
MAX_QUEUED = 10_000
MAX_FRAME = 64 * 1024 * 1024
# between failed attempts: 0-1 s (random), then 1, 2, 4, 5, 5, ... s
RECONNECT_DELAYS = functools.partial(
    backoff, initial_delay=1.0, min_delay=1.0, max_delay=5.0, factor=2.0
)
# websockets resets its backoff once a connection opens, so a peer that accepts and then
# closes before registering us would be redialled in a tight loop: pause between those
UNREGISTERED_PAUSE = 1.0


class LinkRefused(DaemonError):
    """The coordinator refused this daemon for good (token, version, machine id)."""


@dataclass
class LinkConfig:
    """Where the coordinator is and who this daemon is."""

    host: str = LOCALHOST
    port: int = DEFAULT_COORDINATOR_PORT
    machine_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    reconnect_timeout: float = 90.0
    # zenoh, for data between daemons: --zenoh-listen IP[:PORT], else --interface (not a
    # wildcard), else the address toward the coordinator; --zenoh-connect endpoints
    zenoh_listen: str | None = None
    interface: str | None = None
    zenoh_connect: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The daemon endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/api/daemon"


class CoordinatorLink:
    """Keeps the daemon connected and feeds the service its commands."""

    def __init__(self, config: LinkConfig, service: DaemonService) -> None:
        self.config = config
        self.service = service
        self._queue: asyncio.Queue[str] = asyncio.Queue(MAX_QUEUED)
        self._connected = False
        self._logs: list[LogMessage] = []
        self._flush: asyncio.TimerHandle | None = None
        self._commands: set[asyncio.Task[None]] = set()
        self._failures = 0  # failed attempts since the last session
        self._lost = False  # "lost the coordinator" was said for this round of attempts

    # ---- events to the coordinator (never block) -------------------------------

    def emit(self, event: ev.DaemonEvent) -> None:
        """Queue an event; dropped while disconnected (results are kept by the service)."""
        if not self._connected:
            return
        if self._logs and not isinstance(event, ev.LogBatch):
            self._flush_logs()  # a node's last lines go out before news of its end
        try:
            self._queue.put_nowait(ev.encode_frame(ev.EventFrame(event=event)))
        except asyncio.QueueFull:
            log.warning("coordinator link is congested: dropped a %s event", type(event).__name__)

    def emit_log(self, record: LogMessage) -> None:
        """Batch a node log record (the files keep everything; this is the live feed)."""
        if not self._connected:
            return
        self._logs.append(record)
        if len(self._logs) >= LOG_BATCH:
            self._flush_logs()
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(LOG_FLUSH_DELAY, self._flush_logs)

    def _flush_logs(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._logs:
            records, self._logs = self._logs, []
            self.emit(ev.LogBatch(records=records))

    # ---- connection loop -------------------------------------------------------

    async def run(self) -> None:
        """Connect and serve until destroyed; raises :class:`LinkRefused` or gives up."""
        sessions = asyncio.create_task(self._sessions())
        exiting = asyncio.create_task(self.service.exit_requested.wait())
        try:
            await asyncio.wait({sessions, exiting}, return_when=asyncio.FIRST_COMPLETED)
            if not sessions.done() and not self._connected:
                # between sessions (a backoff, an attempt): nobody to answer, stop now;
                # a session ends itself on exit, after sending what is queued
                sessions.cancel()
            await asyncio.wait({sessions})
            if not sessions.cancelled():
                sessions.result()
        finally:
            exiting.cancel()
            sessions.cancel()

    async def _sessions(self) -> None:
        """One session per connection ``websockets`` opens (with its backoff: at once,
        then 0-1 s, 1 s doubling to 5 s), until exit; ``reconnect_timeout`` seconds after
        a lost session without a new one, it gives up."""
        connections = connect(
            self.config.url,
            additional_headers=_auth_header(self.config.token),
            max_size=MAX_FRAME,
            open_timeout=10,
            proxy=None,
            process_exception=self._retry_or_refuse,
            reconnect_delays=RECONNECT_DELAYS,
            logger=_RetriesAtDebug(logging.getLogger("websockets.client")),
        )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(None) as give_up:
                # aclosing: leaving the loop closes the open connection at once
                async with contextlib.aclosing(aiter(connections)) as opened:
                    async for websocket in opened:
                        try:
                            await self._register(websocket)
                        except (OSError, TimeoutError, ConnectionClosed) as error:
                            # it closed or went quiet before answering: connect again
                            # (if it is gone, connecting fails and the backoff starts)
                            self._log_failure(error)
                            await asyncio.sleep(UNREGISTERED_PAUSE)
                            continue
                        give_up.reschedule(None)
                        self._failures, self._lost = 0, False
                        await self._serve(websocket)
                        if self.service.exit_requested.is_set():
                            return
                        log.warning("lost the coordinator; nodes keep running, reconnecting")
                        self._lost = True
                        give_up.reschedule(loop.time() + self.config.reconnect_timeout)
        except TimeoutError:
            if not give_up.expired():
                raise
            raise DoraError(
                f"no coordinator at {self.config.url} for "
                f"{self.config.reconnect_timeout:g} s; giving up"
            ) from None

    def _retry_or_refuse(self, error: Exception) -> Exception | None:
        """``process_exception`` for the reconnecting ``connect``: ``None`` retries."""
        if isinstance(error, InvalidStatus):
            if error.response.status_code == 401:
                return LinkRefused("the coordinator refused our token (401)")
            log.warning("coordinator answered HTTP %d", error.response.status_code)
            return None
        if not isinstance(error, (OSError, InvalidHandshake, TimeoutError)):
            return error
        self._log_failure(error)
        return None

    def _log_failure(self, error: Exception) -> None:
        # Say it once (a daemon started before its coordinator would look hung), then
        # keep the retries quiet; after a loss, "lost the coordinator" said it.
        first = self._failures == 0 and not self._lost
        self._failures += 1
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "cannot reach the coordinator at %s: %s%s",
            self.config.url,
            error,
            "; retrying" if first else "",
        )

    async def _register(self, websocket: ClientConnection) -> None:
        """Register and wait for the answer; a refusal raises :class:`LinkRefused`."""
        service = self.service
        zenoh_endpoints, zenoh_pending = service.zenoh_registration()
        register = ev.Register(
            protocol_version=ev.DAEMON_PROTOCOL_VERSION,
            instance_id=service.instance_id,
            dora_version=version("dora-daemon"),
            machine_id=self.config.machine_id,
            labels=self.config.labels,
            zenoh_endpoints=zenoh_endpoints,
            zenoh_pending=zenoh_pending,
        )
        await websocket.send(ev.encode_frame(ev.EventFrame(event=register)))
        async with asyncio.timeout(REGISTER_TIMEOUT):
            reply = from_coord.decode_frame(await websocket.recv())
        event = reply.event if isinstance(reply, from_coord.EventFrame) else None
        if isinstance(event, from_coord.RegisterRejected):
            raise LinkRefused(f"the coordinator refused this daemon: {event.error}")
        if not isinstance(event, from_coord.Registered):
            raise LinkRefused("the coordinator did not answer the registration")
        service.registered(event.daemon_id, list(event.peer_endpoints))
        log.info("registered with the coordinator as %s", event.daemon_id)

    async def _serve(self, websocket: ClientConnection) -> None:
        """Commands in, events out, heartbeats, until the connection ends or exit."""
        service = self.service
        self._queue = asyncio.Queue(MAX_QUEUED)
        self._connected = True
        self.emit(service.status_report())
        for pending in service.pending_events():
            self.emit(pending)
        tasks = [
            asyncio.create_task(self._write(websocket)),
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self._read(websocket)),
            asyncio.create_task(service.exit_requested.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if service.exit_requested.is_set():
                await self._drain(websocket)
        finally:
            self._connected = False
            self._logs.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, websocket: ClientConnection) -> None:
        """Wait until the writer sent what is queued (the reply to ``destroy``)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._queue.join()

    async def _write(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await self._queue.get()
                try:
                    await websocket.send(frame)
                finally:
                    self._queue.task_done()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            self.emit(ev.Heartbeat())

    async def _read(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                try:
                    async with asyncio.timeout(SILENCE_TIMEOUT):
                        frame = await websocket.recv()
                except TimeoutError:
                    log.warning("no word from the coordinator for %g s", SILENCE_TIMEOUT)
                    return
                try:
                    message = from_coord.decode_frame(frame)
                except (msgspec.DecodeError, msgspec.ValidationError) as error:
                    log.warning("unreadable frame from the coordinator: %s", error)
                    continue
                if isinstance(message, from_coord.CommandFrame):
                    task = asyncio.create_task(self._command(message))
                    self._commands.add(task)
                    task.add_done_callback(self._commands.discard)
                elif isinstance(message.event, from_coord.BarrierReleased):
                    event = message.event
                    self.service.barrier_released(event.dataflow_id, event.error)

    async def _command(self, frame: from_coord.CommandFrame) -> None:
        try:
            result = await self.service.handle(frame.command)
            reply = ev.ReplyFrame(id=frame.id, result=result)
        except DoraError as error:
            reply = ev.ReplyFrame(id=frame.id, error=str(error))
        except Exception as error:
            log.exception("command %s failed", type(frame.command).__name__)
            reply = ev.ReplyFrame(id=frame.id, error=f"daemon error: {error}")
        if self._connected:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(ev.encode_frame(reply))


class _RetriesAtDebug(logging.LoggerAdapter[logging.Logger]):
    """The ``websockets`` logger with its INFO lines (one per failed attempt: "connect
    failed; reconnecting in ...") at DEBUG: the link says it once itself."""

    def info(self, msg: object, *args: object, **kwargs: object) -> None:
        self.debug(msg, *args, **kwargs)  # type: ignore[arg-type]


def _auth_header(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
