"""One CLI's WebSocket session (``/api/control``): handshake, requests, pushed logs.

Each request runs in its own task, because some wait a long time (``stop`` waits for
the dataflow to end) while the same connection keeps receiving log events and may send
more requests (a second Ctrl-C in ``dora start --attach`` sends a forced stop). All
frames to the CLI go through one queue and one writer task, so they never interleave.

Bounds (docs/security.md): the hello must come within ``hello_timeout``; at most
:data:`MAX_IN_FLIGHT` requests run at once (further frames wait unread, which pushes
back on the client); the queue is a :class:`~dora_coordinator.backlog.ReplyBacklog` in
the coordinator's pool, and a reply that does not fit closes the connection, since its
client is not reading (or, when the pool is full, the connection with the largest backlog).

A frame that cannot be parsed gets an error reply (id 0 unless the id could be read)
and the session goes on; nothing a client sends can crash the coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from dora_coordinator.background import Background
from dora_coordinator.backlog import Admission, BacklogPool, ReplyBacklog
from dora_coordinator.builds import Builds
from dora_coordinator.connection_limits import peer_name
from dora_coordinator.limits import Limits
from dora_coordinator.logs import LogHub, LogSubscription
from dora_coordinator.node_ops import node_request, reload_request
from dora_coordinator.operations import DataflowOperations
from dora_coordinator.param_ops import param_request
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message.common import LogMessage
from dora_message.errors import DoraError

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4096
MAX_IN_FLIGHT = 64  # requests of one connection running at once
CLOSE_POLICY = 1008  # WebSocket close code "policy violation"


@dataclass(frozen=True)
class ControlSide:
    """Everything a CLI connection reaches, shared by every CLI connection."""

    ops: DataflowOperations
    builds: Builds
    hub: LogHub
    limits: Limits
    reply_pool: BacklogPool  # every connection's reply backlog draws from it
    background: Background
    version: str
    request_shutdown: Callable[[], None]  # after `destroy` was answered
    sessions: set[ControlSession] = field(default_factory=set)  # the open connections

    def push_finished(self, uuid: str) -> None:
        """Tell subscribed CLI sessions that ``uuid`` ended."""
        for session in list(self.sessions):
            session.push_finished(uuid)


class ControlSession:
    """The coordinator's side of one CLI connection."""

    def __init__(self, side: ControlSide, connection: ServerConnection) -> None:
        self.side = side
        self.connection = connection
        limits = side.limits
        self._outgoing: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue()
        self.backlog = ReplyBacklog(limits.max_reply_backlog, side.reply_pool)
        self._hello_timeout = limits.hello_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()  # set while fewer than MAX_IN_FLIGHT requests run
        self._room.set()
        self._subscriptions: list[LogSubscription] = []
        self._greeted = False
        self._closing = False

    async def run(self) -> None:
        """Serve the connection until it closes (registered in ``side.sessions`` meanwhile)."""
        self.side.sessions.add(self)
        try:
            await self._serve()
        finally:
            self.side.sessions.discard(self)

    async def _serve(self) -> None:
        writer = asyncio.create_task(self._write())
        deadline = asyncio.get_running_loop().call_later(self._hello_timeout, self._no_hello)
        try:
            while not self._closing:
                await self._room.wait()
                frame = await self.connection.recv()
                if not self._closing:
                    self._on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            deadline.cancel()
            for subscription in self._subscriptions:
                self.side.hub.unsubscribe(subscription)
            for task in list(self._tasks):
                task.cancel()
            self._discard_backlog()
            self.backlog.close()
            self._outgoing.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await writer
            if self._closing:
                await self.connection.wait_closed()

    async def _write(self) -> None:
        while (item := await self._outgoing.get()) is not None:
            frame, size = item
            try:
                await self.connection.send(frame)
            except ConnectionClosed:
                return
            finally:
                self.backlog.written(size)

    def _send(self, frame: rep.CoordinatorToCli, droppable: bool = False) -> None:
        if self._closing:
            return
        text = rep.encode_frame(frame)
        # a str holds up to 4 bytes per character unless it is all ASCII
        size = len(text) if text.isascii() else 4 * len(text)
        verdict = self.backlog.admit(size, droppable)
        while verdict is Admission.POOL_FULL and self._evict_largest():
            verdict = self.backlog.admit(size, droppable)
        match verdict:
            case Admission.QUEUE:
                self._outgoing.put_nowait((text, size))
            case Admission.DROP:
                pass  # counted; reported with the next event that fits
            case Admission.OVERFLOW:
                self._close(
                    f"it does not read its replies ({self.backlog.queued} bytes queued, "
                    f"limit {self.backlog.limit})",
                    "client does not read its replies",
                )
            case Admission.POOL_FULL:
                self._close_largest()

    def _evict_largest(self) -> bool:
        """Close the session with the largest backlog unless it is this one; True if done."""
        largest = self.side.reply_pool.largest()
        victim = next((s for s in self.side.sessions if s.backlog is largest), None)
        if victim is None or victim is self:
            return False
        victim._close_largest()
        return True

    def _close_largest(self) -> None:
        self._close(
            f"it does not read its replies ({self.backlog.queued} bytes queued, the most of "
            f"all clients, whose total is limited to {self.side.reply_pool.total})",
            "client does not read its replies",
        )

    def _no_hello(self) -> None:
        if not self._greeted:
            # info, not warning: port scanners and health probes do this all the time
            why = f"no hello within {self._hello_timeout:g} s"
            self._close(why, why, logging.INFO)

    def _close(self, why: str, reason: str, level: int = logging.WARNING) -> None:
        """Stop serving this client now, free what waits for it, and close the socket."""
        if self._closing:
            return
        self._closing = True
        peer = peer_name(self.connection.remote_address)
        log.log(level, "closing control connection from %s: %s", peer, why)
        self._discard_backlog()
        self.backlog.close()
        for task in list(self._tasks):
            task.cancel()
        self._room.set()  # wake the reader so that run() can end
        self.side.background.run(self.connection.close(CLOSE_POLICY, reason))

    def _discard_backlog(self) -> None:
        while not self._outgoing.empty():
            item = self._outgoing.get_nowait()
            if item is not None:
                self.backlog.written(item[1])

    def _push(self, event: rep.PushEvent) -> None:
        self._send(rep.Event(event=event))

    def _reply_error(self, request_id: int, error: str) -> None:
        self._send(rep.Reply(id=request_id, error=error[:MAX_ERROR_CHARS]))

    # ---- requests --------------------------------------------------------------

    def _on_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            self._reply_error(0, "binary frames are not accepted on /api/control")
            return
        try:
            request = req.decode_request(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._reply_error(_guess_id(frame), _malformed(error))
            return
        body = request.request
        if not self._greeted:
            self._hello(request.id, body)
            return
        if isinstance(body, req.Hello):
            self._reply_error(request.id, "hello was already sent on this connection")
            return
        task = asyncio.create_task(self._handle(request.id, body))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        if len(self._tasks) >= MAX_IN_FLIGHT:
            self._room.clear()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if len(self._tasks) < MAX_IN_FLIGHT:
            self._room.set()

    def _hello(self, request_id: int, body: req.ControlRequest) -> None:
        if not isinstance(body, req.Hello):
            self._reply_error(request_id, "the first request must be hello")
            return
        if body.protocol_version != req.CONTROL_PROTOCOL_VERSION:
            self._reply_error(
                request_id,
                f"protocol version mismatch: the CLI speaks {body.protocol_version}, "
                f"this coordinator speaks {req.CONTROL_PROTOCOL_VERSION}; "
                "use the same dora version for both",
            )
            return
        self._greeted = True
        self._send(
            rep.Reply(
                id=request_id,
                result=rep.HelloOk(
                    protocol_version=req.CONTROL_PROTOCOL_VERSION,
                    coordinator_version=self.side.version,
                ),
            )
        )

    async def _handle(self, request_id: int, body: req.ControlRequest) -> None:
        try:
            result = await self._dispatch(body)
        except DoraError as error:
            self._reply_error(request_id, str(error))
            return
        except Exception as error:
            log.exception("request %s failed", type(body).__name__)
            self._reply_error(request_id, f"internal coordinator error: {error}")
            return
        self._send(rep.Reply(id=request_id, result=result))
        if isinstance(result, rep.Destroyed):
            self.side.request_shutdown()

    async def _dispatch(self, body: req.ControlRequest) -> rep.ControlReply:
        ops = self.side.ops
        match body:
            case req.StartDataflow():
                return ops.start(body)
            case req.WaitForSpawn(dataflow=ident):
                return await ops.wait_spawned(ident)
            case req.StopDataflow(dataflow=ident, grace_duration=grace, force=force):
                return await ops.stop(ident, grace, force)
            case req.RestartDataflow(dataflow=ident, grace_duration=grace, force=force):
                return await ops.restart(ident, grace, force)
            case req.RestartNode() | req.StopNode():
                return await node_request(ops.state, ops.links, ops.tracer, body)
            case req.ReloadOperator():
                return await reload_request(ops.state, ops.links, ops.tracer, body)
            case req.ListParams() | req.GetParam() | req.SetParam() | req.DeleteParam():
                return await param_request(ops.state, ops.links, body)
            case req.ListDataflows():
                return ops.list_dataflows()
            case req.GetDataflow(dataflow=ident):
                return ops.details(ident)
            case req.GetLogs(dataflow=ident, query=query):
                return await ops.read_logs(ident, query)
            case req.SubscribeLogs(dataflow=ident, nodes=nodes, replay=replay):
                return self._subscribe(ident, nodes, replay)
            case req.ListDaemons():
                return ops.list_daemons()
            case req.GetNodeInfo():
                return ops.node_info()
            case req.Destroy(grace_duration=grace, force=force):
                return await ops.destroy(grace, force)
            case req.BuildDataflow():
                return self.side.builds.start(body, self._push)
            case req.GetTraces():
                return ops.tracer.traces()
            case req.GetTraceSpans(trace_id=trace_id):
                return ops.tracer.trace(trace_id)
            case _:
                raise DoraError(f"unexpected request {type(body).__name__}")

    # ---- log subscriptions -----------------------------------------------------

    def _subscribe(self, ident: str, nodes: list[str] | None, replay: bool) -> rep.Subscribed:
        dataflow = self.side.ops.state.resolve(ident, any_status=True)
        uuid = dataflow.uuid
        subscription = self.side.hub.subscribe(uuid, self._on_logs, nodes, replay)
        self._subscriptions.append(subscription)
        if not dataflow.active:
            # Already over: the subscriber still learns how it ended, right after the reply.
            asyncio.get_running_loop().call_soon(self.push_finished, uuid)
        return rep.Subscribed(uuid=uuid)

    def _on_logs(self, records: list[LogMessage]) -> None:
        dropped = self.backlog.dropped
        self._send(rep.Event(event=rep.LogEvent(records=records)), droppable=True)
        if dropped and self.backlog.dropped == dropped:  # this one went through
            log.warning("dropped %d log events for a slow CLI client", dropped)
            self.backlog.dropped = 0

    def push_finished(self, uuid: str) -> None:
        """Tell this client (if subscribed to ``uuid``) how the dataflow ended."""
        dataflow = self.side.ops.state.dataflows.get(uuid)
        if dataflow is None or not any(s.dataflow_id == uuid for s in self._subscriptions):
            return
        stopped = self.side.ops.stopped_reply(dataflow)
        self._send(
            rep.Event(
                event=rep.DataflowFinishedEvent(
                    uuid=uuid, status=stopped.status, result=stopped.result, error=stopped.error
                )
            )
        )


def _malformed(error: Exception) -> str:
    """The reply to a request that failed decoding; a descriptor's own error (it is
    decoded with the request) reads as before, located inside the descriptor."""
    text = str(error)
    head, at, path = text.rpartition(" - at `")
    inside = path.removeprefix(_DESCRIPTOR_PATH)
    if at and inside != path and inside[:1] in (".", "[", "`"):
        return f"invalid dataflow descriptor: {head} - at `${inside}"
    return f"malformed request: {text}"


_DESCRIPTOR_PATH = "$.request.descriptor"


def _guess_id(frame: str) -> int:
    """The request id of a frame that failed validation, when it can be read at all."""
    try:
        value = json.loads(frame)
    except (ValueError, RecursionError):
        return 0
    if isinstance(value, dict) and isinstance(value.get("id"), int):
        return int(value["id"])
    return 0
