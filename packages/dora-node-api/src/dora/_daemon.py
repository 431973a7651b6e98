"""The node's control connection to its daemon.

Start-up is synchronous: ``Register`` -> ``RegisterReply`` (protocol check), then
``Subscribe`` -> ``SubscribeReply``, which the daemon holds until every node of the
dataflow subscribed (the start barrier). Afterwards the polling thread reads daemon
messages and turns them into events. When the daemon goes away the node gets a STOP and,
if it is still alive 2 s later, a watchdog kills it (its process group when it leads
one), so nodes never outlive a killed ``dora run``.

What the bytes mean is :mod:`dora._daemon_protocol`'s business (sans-I/O); this module
owns the socket, the waiting and the hand-over to the node's inbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable

from dora._arrow import TextItem, TickItem
from dora._daemon_protocol import (
    AllInputsClosed,
    DaemonEvent,
    DaemonProtocol,
    InputsClosed,
    Malformed,
    Notice,
    Stopped,
    Text,
    TimerTick,
)
from dora._inbox import Inbox, Op
from dora._receiver import Receiver
from dora._sender import Sender
from dora.events import stop_event
from dora_message.config import NodeConfig
from dora_message.dataplane.sockets import connect
from dora_message.node_protocol import STOP_DATAFLOW, NodeToDaemon

logger = logging.getLogger(__name__)

WATCHDOG_DELAY = 2.0
REGISTER_TIMEOUT = 30.0
_READ_SIZE = 65536


class DaemonLink:
    """Connection to the daemon: handshake, requests, incoming messages."""

    def __init__(self, address: str) -> None:
        self.sock = connect(address, timeout=REGISTER_TIMEOUT)
        self._protocol: DaemonProtocol | None = None
        self._lock = threading.Lock()
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
        protocol = self._protocol = DaemonProtocol(config)
        self._send_bytes(protocol.register(os.getpid()))
        # the registration is answered at once; the subscription once every node is there
        deadline = time.monotonic() + REGISTER_TIMEOUT
        while not protocol.ready:
            remaining = None
            if not protocol.registered:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"the daemon did not answer within {REGISTER_TIMEOUT:.0f} s")
            ready, _w, _x = select.select([self.sock], [], [], remaining)
            if not ready:
                continue
            try:
                data = self.sock.recv(_READ_SIZE)
            except ConnectionResetError:
                data = b""
            if not data:
                raise RuntimeError("the daemon closed the connection during start-up")
            protocol.receive(data)  # raises StartupError (a RuntimeError) on a refusal
            if reply := protocol.data_to_send():
                self._send_bytes(reply)

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
        self._deliver()

    # ---- sending ----------------------------------------------------------------------

    def send(self, msg: NodeToDaemon) -> bool:
        """Send a control message; False if the daemon is gone."""
        return self._send_bytes(DaemonProtocol.encode(msg))

    def _send_bytes(self, frame: bytes | bytearray) -> bool:
        with self._lock:
            try:
                self.sock.sendall(frame)
                return True
            except OSError:
                return False

    # ---- receiving (polling thread) ---------------------------------------------------

    def on_readable(self) -> None:
        """Read and handle daemon messages."""
        try:
            data = self.sock.recv(_READ_SIZE, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset: the daemon is gone as with an end of stream
            data = b""
        if data:
            assert self._protocol is not None
            self._protocol.receive(data)
        self._deliver()
        if not data:
            self._on_gone()

    def _deliver(self) -> None:
        assert self._protocol is not None
        for event in self._protocol.events():
            self._handle(event)

    def _handle(self, event: DaemonEvent) -> None:
        inbox = self._inbox
        receiver = self._receiver
        assert inbox is not None and receiver is not None
        match event:
            case TimerTick(input_ids, timestamp_ns):
                tick = TickItem(timestamp_ns)
                inbox.apply([(iid, tick, False, False) for iid in input_ids])
            case Text(input_ids, text, timestamp_ns, parameters):
                item = TextItem(text, timestamp_ns, parameters)
                ops: list[Op] = [(iid, item, False, False) for iid in input_ids]
                inbox.apply(ops)
            case InputsClosed(input_ids, source_node):
                receiver.input_closed(list(input_ids), source_node)
            case AllInputsClosed():
                # close each input behind its producer's data; our STOP follows
                with inbox.lock:
                    still_open = inbox.sched.open_inputs()
                receiver.close_all(still_open)
            case Stopped(scope):
                self.stop_scope = scope
                if self._sender is not None and scope == STOP_DATAFLOW:
                    # our receivers stop too: our Closed frames tell them so
                    self._sender.stopping = True
                inbox.push_event(stop_event("MANUAL"))
            case Notice(events):
                for notice in events:
                    inbox.push_event(notice)
            case Malformed(error):
                logger.error("ignoring a malformed message from the daemon: %s", error)

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
