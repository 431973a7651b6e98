"""The node's control connection to its daemon.

Start-up is synchronous: ``Register`` -> ``RegisterReply`` (protocol check), then
``Subscribe`` -> ``SubscribeReply``, which the daemon holds until every node of the
dataflow subscribed (the start barrier). Afterwards the polling thread reads daemon
messages and turns them into events. When the daemon goes away the node gets a STOP and,
if it is still alive 2 s later, a watchdog kills it (its process group when it leads
one), so nodes never outlive a killed ``dora run``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from dora._arrow import TextItem, TickItem
from dora._inbox import Inbox, Op
from dora._receiver import Receiver
from dora._sender import Sender
from dora.events import (
    error_event,
    input_recovered_event,
    node_failed_event,
    node_restarted_event,
    param_deleted_event,
    param_update_event,
    reload_event,
    stop_event,
)
from dora_message.config import NodeConfig
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    STOP_DATAFLOW,
    InputClosed,
    InputRecovered,
    NodeFailed,
    NodeRestarted,
    ParamDeleted,
    ParamUpdate,
    Register,
    RegisterReply,
    Reload,
    Stop,
    Subscribe,
    SubscribeReply,
    TextInput,
    Tick,
    node_encoder,
    to_node_decoder,
)
from dora_message.transport import FrameReader, connect, encode_frame

logger = logging.getLogger(__name__)

WATCHDOG_DELAY = 2.0
REGISTER_TIMEOUT = 30.0


class DaemonLink:
    """Connection to the daemon: handshake, requests, incoming messages."""

    def __init__(self, address: str) -> None:
        self.sock = connect(address, timeout=REGISTER_TIMEOUT)
        self._reader = FrameReader()
        self._lock = threading.Lock()
        self._early: list[Any] = []
        self._inbox: Inbox | None = None
        self._receiver: Receiver | None = None
        self._sender: Sender | None = None
        self._unregister: Callable[[socket.socket], None] | None = None
        self.closing = False
        self.gone = False
        # end the process if it outlives its daemon; never a dynamic node's (a terminal,
        # a notebook, a debugger): its owner decides
        self.watchdog = True
        self.stop_scope: str | None = None  # what the daemon's STOP stops (node_protocol)

    # ---- start-up -------------------------------------------------------------------

    def handshake(self, config: NodeConfig) -> None:
        """Register and subscribe; returns once the start barrier released."""
        self.watchdog = not config.dynamic
        self.send(
            Register(
                config.dataflow_id, config.node_id, PROTOCOL_VERSION, os.getpid(), config.secret
            )
        )
        reply = self._wait_for(RegisterReply, REGISTER_TIMEOUT)
        if reply.protocol_version != PROTOCOL_VERSION:
            raise RuntimeError(
                f"protocol version mismatch: this node API (dora-node-api) speaks "
                f"{PROTOCOL_VERSION}, the daemon speaks {reply.protocol_version}"
                + (f" ({reply.error})" if reply.error else "")
            )
        if reply.error:
            raise RuntimeError(f"the daemon refused node `{config.node_id}`: {reply.error}")
        self.send(Subscribe())
        sub = self._wait_for(SubscribeReply, None)
        if sub.error:
            raise RuntimeError(sub.error)

    def _wait_for(self, kind: type, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = None
            for body in self._reader.frames():
                msg = to_node_decoder.decode(body)
                if found is None and type(msg) is kind:
                    found = msg
                else:
                    # handled once the node is running; frames() consumed the whole batch,
                    # so what came right behind the awaited reply must be kept too
                    self._early.append(msg)
            if found is not None:
                return found
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RuntimeError(f"the daemon did not answer within {timeout:.0f} s")
            ready, _w, _x = select.select([self.sock], [], [], remaining)
            if ready and not self._reader.fill(self.sock):
                raise RuntimeError("the daemon closed the connection during start-up")

    def attach(
        self,
        inbox: Inbox,
        receiver: Receiver,
        unregister: Callable[[socket.socket], None],
        sender: Sender,
    ) -> None:
        """Start delivering daemon messages (and the ones that came during start-up)."""
        self._inbox = inbox
        self._receiver = receiver
        self._sender = sender
        self._unregister = unregister
        early, self._early = self._early, []
        for msg in early:
            self._handle(msg)
        if self._reader.pending():
            self._dispatch_frames()

    # ---- sending ----------------------------------------------------------------------

    def send(self, msg: Any) -> bool:
        """Send a control message; False if the daemon is gone."""
        frame = encode_frame(node_encoder, msg)
        with self._lock:
            try:
                self.sock.sendall(frame)
                return True
            except OSError:
                return False

    # ---- receiving (polling thread) ---------------------------------------------------

    def on_readable(self) -> None:
        """Read and handle daemon messages."""
        alive = self._reader.fill(self.sock)
        self._dispatch_frames()
        if not alive:
            self._on_gone()

    def _dispatch_frames(self) -> None:
        for body in self._reader.frames():
            try:
                msg = to_node_decoder.decode(body)
            except Exception as err:
                logger.error("ignoring a malformed message from the daemon: %s", err)
                continue
            self._handle(msg)

    def _handle(self, msg: Any) -> None:
        inbox = self._inbox
        receiver = self._receiver
        assert inbox is not None and receiver is not None
        kind = type(msg)
        if kind is Tick:
            tick = TickItem(msg.timestamp_ns)
            inbox.apply([(iid, tick, False, False) for iid in msg.input_ids])
        elif kind is TextInput:
            text = TextItem(msg.text, msg.timestamp_ns, msg.parameters)
            ops: list[Op] = [(iid, text, False, False) for iid in msg.input_ids]
            inbox.apply(ops)
        elif kind is InputClosed:
            receiver.input_closed(msg.input_ids, msg.source_node)
        elif kind is Stop:
            if msg.cause == "ALL_INPUTS_CLOSED":
                # close each input behind its producer's data; our STOP follows
                with inbox.lock:
                    still_open = inbox.sched.open_inputs()
                receiver.close_all(still_open)
            else:
                self.stop_scope = msg.scope
                if self._sender is not None and msg.scope == STOP_DATAFLOW:
                    # our receivers stop too: our Closed frames tell them so
                    self._sender.stopping = True
                inbox.push_event(stop_event("MANUAL"))
        elif kind is NodeRestarted:
            inbox.push_event(node_restarted_event(msg.source_node))
        elif kind is NodeFailed:
            inbox.push_event(node_failed_event(msg.source_node, msg.error, msg.affected_input_ids))
        elif kind is InputRecovered:
            for iid in msg.input_ids:
                inbox.push_event(input_recovered_event(iid))
        elif kind is ParamUpdate:
            try:
                value = json.loads(msg.value_json)
            except ValueError as err:
                inbox.push_event(error_event(f"unreadable value of parameter `{msg.key}`: {err}"))
            else:
                inbox.push_event(param_update_event(msg.key, value))
        elif kind is ParamDeleted:
            inbox.push_event(param_deleted_event(msg.key))
        elif kind is Reload:
            inbox.push_event(reload_event(msg.operator_id))
        # late RegisterReply / SubscribeReply: nothing to do

    def _on_gone(self) -> None:
        if self.gone:
            return
        self.gone = True
        if self._unregister is not None:
            self._unregister(self.sock)  # or epoll reports the EOF forever
        if self.closing:
            return
        logger.warning("the daemon connection closed: stopping")
        if self._inbox is not None:
            self._inbox.push_event(stop_event("MANUAL"))
        if not self.watchdog:
            return
        timer = threading.Timer(WATCHDOG_DELAY, _kill_self)
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        """Close the connection (the caller holds the poll lock)."""
        self.closing = True
        if self._unregister is not None and not self.gone:
            self._unregister(self.sock)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _kill_self() -> None:
    """The daemon is gone and we are still here: end the process (and its group)."""
    try:
        pgid = os.getpgid(0)
        if pgid == os.getpid():
            os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    os._exit(1)
