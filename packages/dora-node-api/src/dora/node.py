"""``dora.Node``: what a dataflow node imports to receive inputs and send outputs.

The node talks to its daemon over one control connection and to other nodes directly
(see ``_sender``/``_receiver``). Everything received lands in the scheduler; ``next()``
reads the sockets itself while it waits, so an incoming message wakes only the thread
that returns it. One ``Node`` may be used from several threads at once.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import math
import os
import sys
import time
import weakref
from collections.abc import Iterator
from typing import Any

from dora import _log
from dora._arrow import as_payload
from dora._config import health_check_timeout, may_restart, run_config, whole_descriptor
from dora._daemon import DaemonLink
from dora._inbox import Inbox, Poller
from dora._metadata import Clock, encode_parameters, ns_to_datetime
from dora._receiver import Receiver
from dora._sample import SampleHandler
from dora._scheduler import Scheduler
from dora._sender import Sender
from dora._service import new_request_id
from dora._shm import ShmPool
from dora._typecheck import OutputTypeCheck
from dora._watch import Watch, breaker_tick, heartbeat_period
from dora.events import Event, error_event
from dora_message.config import NodeConfig, decode_node_config
from dora_message.constants import ENV_GC_FREEZE, ENV_NODE_CONFIG
from dora_message.dataplane.sockets import listen_socket
from dora_message.node_protocol import (
    STOP_RESTART,
    BrokenInputs,
    CloseOutputs,
    DroppedMessages,
    Heartbeat,
    OutputsDone,
    PendingInputs,
    UnreadInputs,
)

logger = logging.getLogger(__name__)

_TIMED_OUT = "Receiver timed out"
_EMPTY: dict[str, Any] = {}
_STALE = 0.001  # poll before popping when nobody polled for this long


def _freeze_startup_objects() -> None:
    """Take what exists now (imports, the node's set-up) out of the garbage collector's
    sight. Otherwise every full collection rescans those ~10^5 long-lived objects: a
    pause of many milliseconds in the middle of a burst (8 B burst: 99k -> 111k msg/s).
    Objects created later are collected as usual; ``DORA_GC_FREEZE=0`` turns it off.
    """
    if os.environ.get(ENV_GC_FREEZE, "1") != "0":
        gc.freeze()


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    timeout = float(timeout)
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number, not {timeout}")
    return timeout


class Node(_log.LogMethods):
    """A dora node. ``Node()`` joins the dataflow described by ``DORA_NODE_CONFIG``."""

    def __init__(self, node_id: str | None = None, daemon_port: int | None = None) -> None:
        raw = os.environ.get(ENV_NODE_CONFIG)
        if raw is not None and daemon_port is None:
            config = decode_node_config(raw)
            if node_id is not None and node_id != config.node_id:
                logger.info("%s is set: ignoring node id `%s`", ENV_NODE_CONFIG, node_id)
        elif node_id is not None:
            # a dynamic node: a process started by hand joins a running dataflow
            from dora._dynamic import daemon_port as port_of
            from dora._dynamic import fetch_config

            config = fetch_config(str(node_id), port_of(daemon_port))
        else:
            raise RuntimeError(f"{ENV_NODE_CONFIG} env variable is not set")
        self._closed = True  # until start-up completed
        self._start(config)

    # ---- start-up / shutdown ----------------------------------------------------------

    def _start(self, config: NodeConfig) -> None:
        self._config = config
        self._descriptor: dict[str, Any] | None = None  # read on first use
        self._clock = Clock()
        self._outputs = set(config.outputs)
        self._type_check = OutputTypeCheck.from_config(config)
        self._warned_outputs: set[str] = set()
        timeouts = {
            iid: spec.input_timeout
            for iid, spec in config.inputs.items()
            if spec.input_timeout is not None and spec.input_timeout > 0
        }
        passive: list[str] = []
        if config.dataflow_descriptor.get("exit_when_nodes_finish"):
            # timers and dora/logs do not keep the node running once its data inputs close
            inputs = config.inputs.items()
            passive = [iid for iid, spec in inputs if spec.source.startswith("dora/")]
        scheduler = Scheduler(
            {iid: (spec.queue_size, spec.queue_policy) for iid, spec in config.inputs.items()},
            timeouts,
            passive=passive,
        )
        self._calls = 0  # calls into dora from the node's code (health-check keep-alive)
        self._watch: Watch | None = None
        self._inbox = inbox = Inbox(scheduler)
        self._poller = poller = Poller()
        self._pool = ShmPool(f"dora-{config.dataflow_id}-{config.node_id}")
        listener = listen_socket(config.listen_address)
        daemon: DaemonLink | None = None
        try:
            daemon = DaemonLink(config.daemon_address)
            self._daemon = daemon
            # all that needs no other node is done before the start barrier: the time
            # other nodes take to start, not the first message's delay, pays for it
            self._receiver = Receiver(
                config, listener, inbox, poller.register, poller.unregister, poller.wake_if_blocked
            )
            poller.before_poll(self._receiver.flush_releases)
            self._sender = Sender(config, self._pool, poller.register, poller.unregister)
            self._sender.report_drops = lambda output_id, receiver, count, resumed: daemon.send(
                DroppedMessages(output_id, receiver, count, resumed)
            )
            poller.register(listener, self._receiver.on_accept)
            # the threads start now too, each held back until the node is wired: the
            # I/O thread by the poll lock (it only polls holding it), the watch thread by
            # ``_closed`` (it sends nothing before the barrier: no data, no beat)
            with poller.lock:
                try:
                    poller.start(f"dora-{config.node_id}-io")
                    self._start_watch(config, list(timeouts.values()))
                    daemon.handshake(config)  # returns at the start barrier
                    self._sender.connect_all()
                    poller.register(daemon.sock, daemon.on_readable)
                    daemon.attach(inbox, self._receiver, poller.unregister, self._sender)
                except BaseException:
                    poller.closed = True  # the I/O thread ends at the lock, not in a poll
                    raise
        except BaseException:
            poller.stop()
            if self._watch is not None:
                self._watch.stop()
            listener.close()
            if daemon is not None:
                daemon.sock.close()
            poller.close()
            self._pool.close()
            raise
        self._closed = False
        _log.install_bridge(config.node_id)
        self._log_node_id = config.node_id
        _freeze_startup_objects()
        self._log_threshold = _log.threshold_from_env(_log.METHOD_DEFAULT)
        atexit.register(_close_at_exit, weakref.ref(self))

    def _start_watch(self, config: NodeConfig, timeouts: list[float]) -> None:
        """Queue reports, and keep-alive beats and input timeouts when the node has any
        (see ``_watch``)."""
        health = health_check_timeout(config)
        poller = self._poller
        daemon = self._daemon
        seen = (-1.0, -1)

        def responsive() -> bool:
            nonlocal seen
            if self._closed:  # not started yet: no beat before the start barrier
                return False
            now = (poller.active_at, self._calls)
            changed, seen = now != seen, now
            return changed or poller.waiting()

        def wake() -> None:
            poller.kick()

        self._watch = Watch(
            beat_period=heartbeat_period(health) if health is not None else None,
            responsive=responsive,
            beat=lambda: daemon.send(Heartbeat()),
            check_period=breaker_tick(timeouts) if timeouts else None,
            expire=self._inbox.expire,
            wake=wake,
            report_broken=lambda broken: daemon.send(BrokenInputs(broken)),
            pending=self._inbox.pending,
            report_pending=lambda count: daemon.send(PendingInputs(count)),
            report_drops=self._sender.flush_drops,
        )
        self._watch.start(f"dora-{config.node_id}-watch")

    def close(self) -> None:
        """Close all outputs, tell the daemon we are done, release sockets (idempotent)."""
        self._close(clean=True)

    def _close(self, clean: bool | None) -> None:
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self._watch.stop()
        outputs = sorted(self._outputs)
        self._outputs.clear()
        scope = self._daemon.stop_scope  # None: nobody asked us to stop
        restarting = scope == STOP_RESTART or (scope is None and may_restart(self._config, clean))
        # a dynamic node may join again (as in dora-rs, its receivers' inputs stay open)
        rejoining = self._config.dynamic and scope is None
        if restarting:
            # from here on senders count what they cannot deliver to us; what they wrote
            # before is drained and counted below: no message is lost without a count
            self._receiver.refuse_data()
        if outputs and not restarting and not rejoining:
            # receivers close these inputs right behind our last data; a node that may
            # be restarted leaves that to the daemon (no InputClosed while it restarts)
            self._sender.close_outputs(outputs)
        self._sender.flush_drops()
        self._daemon.closing = True
        self._daemon.send(OutputsDone())
        self._inbox.end()
        poller = self._poller
        poller.stop()
        got_lock = poller.lock.acquire(timeout=2.0)
        try:
            if restarting:
                self._report_unread()
            self._receiver.close()
            self._sender.close()
            self._daemon.close()
            poller.close()
        finally:
            if got_lock:
                poller.lock.release()
        self._pool.close()

    def _report_unread(self) -> None:
        """Tell the daemon how many received messages this incarnation never handed to
        the node's code (it counts them as missed during the restart)."""
        self._receiver.drain()
        with self._inbox.lock:
            discarded = self._inbox.sched.discarded_counts()
        inputs = self._config.inputs
        # daemon-made inputs (timer ticks, log lines) are not messages anybody sent
        unread = {
            iid: count
            for iid, count in discarded.items()
            if iid in inputs and not inputs[iid].source.startswith("dora/")
        }
        if unread:
            self._daemon.send(UnreadInputs(unread))

    def __enter__(self) -> Node:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # SystemExit's code decides, and only the daemon sees the process's exit status
        self._close(clean=None if exc_type is SystemExit else exc_type is None)

    # ---- receiving ------------------------------------------------------------------

    def _entry(self, timeout: float | None) -> Any:
        """Next scheduler entry, ``None`` when the stream ended, ``False`` on timeout."""
        inbox = self._inbox
        poller = self._poller
        poller.active_at = now = time.monotonic()
        if now - poller.last_poll > _STALE and inbox.ready():
            # apply queue policies to what waits in the sockets before taking a queued
            # entry; with nothing queued, the wait below polls anyway (one poll less on
            # the paced path, where each step is paid from cold caches)
            poller.poll_nowait()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with inbox.lock:
                entry = inbox.sched.pop()
                if entry is None and inbox.sched.ended:
                    return None
            if entry is not None:
                return entry
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    poller.poll_nowait()
                    entry = inbox.pop()
                    return entry if entry is not None else (None if inbox.sched.ended else False)
            poller.wait(inbox.ready, remaining)

    def next(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` once the stream ended; an ERROR event on timeout."""
        if timeout is None:
            # the common call, spelled out: _entry's loop without its deadline
            poller = self._poller
            inbox = self._inbox
            poller.active_at = now = time.monotonic()
            if now - poller.last_poll > _STALE and inbox.ready():
                poller.poll_nowait()
            # acquire/release, not ``with``: half the instructions, once per message
            lock = inbox.lock
            lock.acquire()
            try:
                entry = inbox.sched.pop()
            finally:
                lock.release()
            if entry is None:
                entry = poller.wait_entry(inbox)
                if entry is None:
                    return None
        else:
            timeout = _check_timeout(timeout)
            entry = self._entry(timeout)
        if type(entry) is tuple:
            input_id, item = entry
            try:
                return item.event(input_id, self._clock)
            except Exception as err:
                return error_event(f"failed to read input `{input_id}`: {err}")
        if entry is False:
            return error_event(f"{_TIMED_OUT} after {timeout} s")
        return entry

    def _event(self, entry: Any) -> Event:
        if type(entry) is dict:
            return entry
        input_id, item = entry
        try:
            return item.event(input_id, self._clock)
        except Exception as err:
            return error_event(f"failed to read input `{input_id}`: {err}")

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.next()
        if event is None:
            raise StopIteration
        return event

    def try_recv(self) -> Event | None:
        """An event if one is ready, else ``None`` (never blocks)."""
        self._calls += 1
        entry = self._inbox.pop()
        if entry is None:
            self._poller.poll_nowait()
            entry = self._inbox.pop()
            if entry is None:
                return None
        event = self._event(entry)
        return None if event.get("type") == "ERROR" else event

    def drain(self) -> list[Event]:
        """Every event buffered right now."""
        self._calls += 1
        self._poller.poll_nowait()
        entries = []
        while (entry := self._inbox.pop()) is not None:
            entries.append(entry)
        if not entries and self._inbox.sched.ended:
            raise RuntimeError("the event stream is closed")
        return [self._event(entry) for entry in entries]

    def is_empty(self) -> bool:
        """No event is buffered."""
        self._poller.poll_nowait()
        with self._inbox.lock:
            return self._inbox.sched.is_empty()

    async def recv_async(self, timeout: float | None = None) -> Event | None:
        """Like :meth:`next`, awaiting without blocking the event loop."""
        import asyncio  # only asyncio users pay for importing it

        timeout = _check_timeout(timeout)
        self._calls += 1
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        inbox = self._inbox
        self._poller.async_waiting(+1)
        try:
            while True:
                self._poller.poll_nowait()
                entry = inbox.pop()
                if entry is not None:
                    return self._event(entry)
                if inbox.sched.ended:
                    return None
                fut: asyncio.Future[None] = loop.create_future()
                inbox.add_async(loop, fut)
                try:
                    if inbox.ready():  # arrived between pop and registration
                        continue
                    remaining = None if deadline is None else deadline - loop.time()
                    if remaining is not None and remaining <= 0:
                        return error_event(f"{_TIMED_OUT} after {timeout} s")
                    try:
                        await asyncio.wait_for(fut, remaining)
                    except TimeoutError:
                        return error_event(f"{_TIMED_OUT} after {timeout} s")
                finally:
                    inbox.remove_async(fut)
        finally:
            self._poller.async_waiting(-1)

    def drop_counts(self) -> dict[str, int]:
        """Messages dropped so far by each input's queue policy."""
        with self._inbox.lock:
            return self._inbox.sched.drop_counts()

    # ---- sending --------------------------------------------------------------------

    def _declared(self, output_id: str) -> bool:
        if output_id in self._outputs:
            return True
        if self._closed:
            raise RuntimeError("the node is closed")
        if output_id not in self._warned_outputs:
            self._warned_outputs.add(output_id)
            logger.warning(
                "send_output: `%s` is not an output of this node in the dataflow, or it was "
                "closed (open outputs: %s): the data is dropped",
                output_id,
                ", ".join(f"`{name}`" for name in sorted(self._outputs)) or "none",
            )
        return False

    def send_output(
        self, output_id: str, data: Any, metadata: dict[str, Any] | None = None
    ) -> None:
        """Send ``data`` (bytes or a pyarrow Array) on ``output_id``."""
        self._calls += 1
        if output_id in self._outputs:
            if self._type_check is not None:
                self._type_check.check(output_id, data, metadata)
            params = encode_parameters(metadata) if metadata else _EMPTY
            self._sender.send(output_id, data, params, self._clock.now())
            return
        as_payload(data)  # invalid data is an error even on an undeclared output
        self._declared(output_id)

    def send_output_raw(
        self, output_id: str, data_length: int, metadata: dict[str, Any] | None = None
    ) -> SampleHandler:
        """Allocate a ``data_length``-byte sample to fill and send (arrives as UInt8)."""
        if output_id not in self._outputs:
            raise RuntimeError(f"output `{output_id}` is not declared in the dataflow")
        params = encode_parameters(metadata) if metadata else _EMPTY
        return SampleHandler(
            self._sender, self._pool, output_id, int(data_length), params, self._clock.now
        )

    def send_service_request(
        self, output_id: str, data: Any, metadata: dict[str, Any] | None = None
    ) -> str:
        """Send a request with a fresh UUIDv7 ``request_id``; returns that id."""
        metadata = dict(metadata or {})
        if "request_id" in metadata:
            logger.warning("send_service_request: replacing the caller's request_id")
        metadata["request_id"] = request_id = new_request_id()
        self.send_output(output_id, data, metadata)
        return request_id

    def send_service_response(self, output_id: str, data: Any, metadata: dict[str, Any]) -> None:
        """Send a response; ``metadata`` should carry the request's ``request_id``."""
        if "request_id" not in metadata:
            logger.warning("send_service_response: metadata has no request_id")
        self.send_output(output_id, data, metadata)

    def close_outputs(self, outputs: list[str]) -> None:
        """Declare that nothing more is sent on these outputs."""
        closing = [o for o in outputs if o in self._outputs]
        for output_id in set(outputs) - set(closing):
            logger.warning("close_outputs: `%s` is not an open output", output_id)
        if not closing:
            return
        self._outputs.difference_update(closing)
        self._sender.close_outputs(closing)
        self._daemon.send(CloseOutputs(closing))

    # ---- introspection --------------------------------------------------------------

    def dataflow_id(self) -> str:
        """The dataflow's UUID."""
        return self._config.dataflow_id

    def node_id(self) -> str:
        """This node's id."""
        return self._config.node_id

    def dataflow_descriptor(self) -> dict[str, Any]:
        """The whole dataflow descriptor as the daemon resolved it (read from the daemon's
        descriptor file in a dataflow too large to hand each node all of it)."""
        if self._descriptor is None:
            self._descriptor = whole_descriptor(self._config)
        return self._descriptor

    def node_config(self) -> dict[str, Any]:
        """The node's run config: ``{"inputs": {...}, "outputs": [...]}``."""
        return run_config(self._config)

    def is_restart(self) -> bool:
        """Whether this process is a restart of the node."""
        return self._config.restart_count > 0

    def restart_count(self) -> int:
        """How many times the node was restarted (0 on the first run)."""
        return self._config.restart_count

    def timestamp(self) -> Any:
        """The node clock now, as a tz-aware UTC datetime (µs)."""
        return ns_to_datetime(self._clock.now())

    def __repr__(self) -> str:
        return f"Node(id={self._config.node_id!r}, dataflow={self._config.dataflow_id!r})"


def _close_at_exit(ref: weakref.ref[Node]) -> None:
    node = ref()
    if node is not None:
        # An uncaught exception leaves sys.last_value behind: that exit is a failure.
        # Otherwise the status is unknown here (sys.exit(1) sets nothing we can read):
        # the daemon sees it and closes the outputs unless the node is restarted.
        clean = False if getattr(sys, "last_value", None) is not None else None
        with contextlib.suppress(Exception):  # interpreter shutdown: best effort
            node._close(clean)
