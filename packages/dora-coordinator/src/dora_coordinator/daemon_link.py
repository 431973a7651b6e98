"""One daemon's WebSocket session (``/api/daemon``): registration, events, commands.

The first frame must be a ``register`` event with our protocol version, within the hello
deadline and, like every frame before registration, at most 1 MiB (the server's limit);
only a registered daemon may send up to :data:`MAX_FRAME_REGISTERED` (log replies). The
daemon then reports what it runs. Every frame counts as a heartbeat. Commands are sent with a
request id and answered by a reply frame; a frame that cannot be parsed is logged and
skipped (the daemon is trusted to be ours, but a bad frame must not end the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from dora_coordinator.background import Background
from dora_coordinator.connection_limits import peer_name
from dora_coordinator.links import DaemonCommandError, Links
from dora_coordinator.logs import LogHub
from dora_coordinator.param_ops import replay_params
from dora_coordinator.state import CoordinatorState, StateError
from dora_coordinator.zenoh_wait import ZenohWait
from dora_message import coordinator_to_daemon as to_daemon
from dora_message import daemon_to_coordinator as from_daemon
from dora_message.common import LogMessage

log = logging.getLogger(__name__)

MAX_FRAME_REGISTERED = 64 * 1024 * 1024
HEARTBEAT_SEND_TIMEOUT = 0.5

__all__ = ["DaemonCommandError", "DaemonLink", "DaemonSide", "Lifecycle"]


class Lifecycle(Protocol):
    """What daemon events mean for the dataflows (the operations carry it out)."""

    def nodes_ready(self, daemon_id: str, dataflow_id: str, error: str | None) -> None:
        """A daemon's nodes of a dataflow spanning daemons are ready (or failed)."""

    def dataflow_ended(self, uuid: str) -> None:
        """The state says the dataflow is over."""

    def daemon_gone(self, daemon_id: str) -> None:
        """The daemon disconnected."""


@dataclass(frozen=True)
class DaemonSide:
    """Everything a daemon connection reaches, shared by every daemon connection."""

    state: CoordinatorState
    links: Links  # registered daemons; a link adds itself and removes itself
    hub: LogHub  # node log records go out to subscribed CLIs
    lifecycle: Lifecycle
    on_build_output: Callable[[str, from_daemon.BuildOutput], None]
    zenoh_wait: ZenohWait
    background: Background
    hello_timeout: float

    def forget(self, daemon_id: str) -> None:
        """The daemon is gone (disconnected or silent): its dataflows recover, and a
        registration waiting for its zenoh endpoint goes on."""
        self.lifecycle.daemon_gone(daemon_id)
        self.zenoh_wait.changed()


class DaemonLink:
    """The coordinator's side of one daemon connection."""

    def __init__(self, side: DaemonSide, connection: ServerConnection) -> None:
        self.side = side
        self.connection = connection
        self.daemon_id: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[from_daemon.CommandResult]] = {}

    # ---- session ---------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes."""
        try:
            if not await self._register():
                return
            async for frame in self.connection:
                self._on_frame(frame)
        except ConnectionClosed as closed:
            if self.daemon_id is None and closed.sent is not None and closed.sent.code == 1009:
                log.warning(
                    "refused a daemon connection from %s: a frame over %d bytes before "
                    "registration",
                    peer_name(self.connection.remote_address),
                    self.connection.protocol.max_message_size,
                )
        finally:
            self._closed()

    async def _register(self) -> bool:
        timeout = self.side.hello_timeout
        try:
            async with asyncio.timeout(timeout):
                frame = await self.connection.recv()
            message = from_daemon.decode_frame(frame)
        except TimeoutError:
            await self._reject(f"no register event within {timeout:g} s")
            return False
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            await self._reject(f"the first frame must be a register event ({error})")
            return False
        event = message.event if isinstance(message, from_daemon.EventFrame) else None
        if not isinstance(event, from_daemon.Register):
            await self._reject("the first frame must be a register event")
            return False
        if event.protocol_version != from_daemon.DAEMON_PROTOCOL_VERSION:
            await self._reject(
                f"protocol version mismatch: the daemon speaks {event.protocol_version}, "
                f"this coordinator speaks {from_daemon.DAEMON_PROTOCOL_VERSION}"
            )
            return False
        state = self.side.state
        # no await between the wait and registering: a later daemon waits for this one
        await self.side.zenoh_wait.settled(event.instance_id)
        try:
            daemon_id = state.register_daemon(
                event.instance_id,
                event.machine_id,
                dict(event.labels),
                time.time(),
                list(event.zenoh_endpoints),
                event.zenoh_pending,
            )
        except StateError as error:
            await self._reject(str(error))
            return False
        # Before `registered` goes out: the daemon sends nothing else until it has it, so
        # its next frame is parsed with the larger limit (websockets reads the limit when
        # a frame begins).
        self.connection.protocol.max_message_size = MAX_FRAME_REGISTERED
        old = self.side.links.get(daemon_id)
        self.daemon_id = daemon_id
        self.side.links[daemon_id] = self
        if old is not None:
            log.warning("daemon %s registered again: closing its previous connection", daemon_id)
            await old.connection.close(1000, "replaced by a new connection")
        log.info("daemon %s registered (machine %s)", daemon_id, event.machine_id or "-")
        peers = state.peer_endpoints(exclude=daemon_id)
        await self.send_event(
            to_daemon.Registered(
                daemon_id=daemon_id,
                protocol_version=from_daemon.DAEMON_PROTOCOL_VERSION,
                peer_endpoints=sorted({e for endpoints in peers.values() for e in endpoints}),
            )
        )
        return True

    async def _reject(self, error: str) -> None:
        log.warning(
            "daemon registration from %s refused: %s",
            peer_name(self.connection.remote_address),
            error,
        )
        frame = to_daemon.EventFrame(event=to_daemon.RegisterRejected(error=error))
        try:
            await self.connection.send(to_daemon.encode_frame(frame))
            await self.connection.close(1008, error[:120])
        except ConnectionClosed:
            pass

    def _closed(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DaemonCommandError(f"daemon {self.daemon_id} disconnected"))
        self._pending.clear()
        if self.daemon_id is not None and self.side.links.get(self.daemon_id) is self:
            del self.side.links[self.daemon_id]
            log.warning("daemon %s disconnected", self.daemon_id)
            self.side.forget(self.daemon_id)

    # ---- frames from the daemon ------------------------------------------------

    def _on_frame(self, frame: str | bytes) -> None:
        assert self.daemon_id is not None
        now = time.time()
        self.side.state.daemon_seen(self.daemon_id, now)
        try:
            message = from_daemon.decode_frame(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            log.warning("daemon %s sent an unreadable frame: %s", self.daemon_id, error)
            return
        if isinstance(message, from_daemon.ReplyFrame):
            future = self._pending.pop(message.id, None)
            if future is not None and not future.done():
                if message.error is not None:
                    future.set_exception(DaemonCommandError(message.error))
                else:
                    future.set_result(message.result or from_daemon.Done())
            return
        try:
            self._on_event(message.event, now)
        except Exception:
            # A bug handling one event must not end the daemon's session.
            log.exception("handling a %s event of daemon %s failed", message.event, self.daemon_id)

    def _on_event(self, event: from_daemon.DaemonEvent, now: float) -> None:
        assert self.daemon_id is not None
        side = self.side
        state = side.state
        match event:
            case from_daemon.Heartbeat():
                pass
            case from_daemon.LogBatch(records=records):
                side.hub.publish(_with_daemon_id(records, self.daemon_id))
            case from_daemon.NodesReady(dataflow_id=dataflow_id, error=error):
                side.lifecycle.nodes_ready(self.daemon_id, dataflow_id, error)
            case from_daemon.ZenohListening(endpoints=endpoints):
                state.zenoh_listening(self.daemon_id, endpoints)
                side.zenoh_wait.changed()
                log.info("daemon %s: zenoh listens on %s", self.daemon_id, endpoints or "nothing")
            case from_daemon.BuildOutput():
                side.on_build_output(self.daemon_id, event)
            case from_daemon.NodeMetrics(dataflow_id=dataflow_id, metrics=metrics):
                state.update_metrics(dataflow_id, metrics, self.daemon_id, event.network)
            case from_daemon.DataflowFinished():
                if state.daemon_finished(self.daemon_id, event, now):
                    side.lifecycle.dataflow_ended(event.dataflow_id)
            case from_daemon.StatusReport(running=running, finished=finished):
                self._reconcile(running, finished, now)
            case from_daemon.Register():
                log.warning("daemon %s sent a second register event: ignored", self.daemon_id)

    def _reconcile(
        self,
        running: list[from_daemon.RunningDataflow],
        finished: list[from_daemon.DataflowFinished],
        now: float,
    ) -> None:
        """What the daemon runs (after a reconnect): adopt, catch up, end or stop."""
        assert self.daemon_id is not None
        side = self.side
        outcome = side.state.status_report(self.daemon_id, running, finished, now)
        for entry in running:
            known = side.state.dataflows.get(entry.dataflow_id)
            adopted = entry.dataflow_id in outcome.adopted
            if known is not None and known.active and not adopted:
                # state catch-up: params changed while the daemon was away
                side.background.run(replay_params(side.state, self, entry.dataflow_id, entry.nodes))
        for uuid in outcome.ended:
            side.lifecycle.dataflow_ended(uuid)
        for uuid in outcome.to_stop:
            log.warning("daemon %s still runs ended dataflow %s: stopping it", self.daemon_id, uuid)
            side.background.run(self.command(to_daemon.StopDataflow(dataflow_id=uuid)))

    # ---- to the daemon ---------------------------------------------------------

    async def command(
        self, command: to_daemon.DaemonCommand, timeout: float = 30.0
    ) -> from_daemon.CommandResult:
        """Send a command and wait for its reply."""
        request_id = next(self._ids)
        future: asyncio.Future[from_daemon.CommandResult] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[request_id] = future
        frame = to_daemon.CommandFrame(id=request_id, command=command)
        try:
            await self.connection.send(to_daemon.encode_frame(frame))
            async with asyncio.timeout(timeout):
                return await future
        except ConnectionClosed:
            raise DaemonCommandError(f"daemon {self.daemon_id} disconnected") from None
        except TimeoutError:
            raise DaemonCommandError(
                f"daemon {self.daemon_id} did not answer within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    async def send_event(self, event: to_daemon.CoordinatorEvent) -> None:
        """Send an event; a closed connection is ignored (the session ends by itself)."""
        with contextlib.suppress(ConnectionClosed):
            await self.connection.send(to_daemon.encode_frame(to_daemon.EventFrame(event=event)))

    async def heartbeat(self) -> None:
        """Send a heartbeat, giving up quietly after a short deadline (backpressure)."""
        try:
            async with asyncio.timeout(HEARTBEAT_SEND_TIMEOUT):
                await self.send_event(to_daemon.Heartbeat())
        except TimeoutError:
            log.debug("heartbeat to daemon %s is late", self.daemon_id)

    async def close(self, reason: str) -> None:
        """Close the connection."""
        await self.connection.close(1000, reason[:120])


def _with_daemon_id(records: list[LogMessage], daemon_id: str) -> list[LogMessage]:
    """The records, those without a daemon id stamped with the sender's (records are
    frozen, so a stamped one is a copy; daemons normally send them stamped)."""
    return [
        record if record.daemon_id else msgspec.structs.replace(record, daemon_id=daemon_id)
        for record in records
    ]
