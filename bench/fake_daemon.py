"""A stand-in daemon: speaks ``node_protocol`` to real node processes.

It listens on an abstract Unix socket, answers ``Register``, holds ``Subscribe`` until
every expected node subscribed (the start barrier), records what nodes send, and lets its
user push ``Tick``/``Stop``/``InputClosed``/... to a node. It also builds the
``NodeConfig`` of every node of a small topology.

It lives in ``bench/`` so that the probes can drive two nodes without a real daemon and
without importing the test tree; the tests import it as ``bench.fake_daemon``. It imports
installed packages only, so it works both as that and as a top-level module of ``bench/``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from dora_message.auth import link_token, new_key, node_secret
from dora_message.config import InputConfig, NodeConfig, Receiver
from dora_message.dataplane.framing import HEADER, FrameBuffer
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    Register,
    RegisterReply,
    Subscribe,
    SubscribeReply,
    node_encoder,
    to_daemon_decoder,
)


class FakeDaemon:
    """Threads-based daemon stand-in for one dataflow."""

    def __init__(
        self,
        expected: list[str],
        protocol_version: str = PROTOCOL_VERSION,
        register_error: str | None = None,
    ) -> None:
        self.dataflow_id = str(uuid.uuid4())
        self.key = new_key()  # node secrets and link tokens, as a real daemon's
        self._readers: dict[str, list[str]] = {}  # producer -> nodes of `configs` reading it
        self.address = f"\0dora-test-{self.dataflow_id}-daemon"
        self.expected = set(expected)
        self.protocol_version = protocol_version
        self.register_error = register_error
        self.received: list[tuple[str, Any]] = []
        self.subscribed: set[str] = set()
        self._conns: dict[str, socket.socket] = {}
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._closed = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(64)
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    # ---- protocol ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        frames = FrameBuffer()
        node_id = "?"
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self.received.append((node_id, "EOF"))
                    self._cond.notify_all()
                return
            frames.feed(chunk)
            for body in frames:
                msg = to_daemon_decoder.decode(body)
                if isinstance(msg, Register):
                    node_id = msg.node_id
                    with self._cond:
                        self._conns[node_id] = sock
                    self._send_sock(sock, RegisterReply(self.protocol_version, self.register_error))
                elif isinstance(msg, Subscribe):
                    with self._cond:
                        self.subscribed.add(node_id)
                        release = self.subscribed >= self.expected
                    if release:
                        for other in sorted(self.expected):
                            self.send(other, SubscribeReply())
                with self._cond:
                    self.received.append((node_id, msg))
                    self._cond.notify_all()

    def _send_sock(self, sock: socket.socket, msg: Any) -> None:
        body = node_encoder.encode(msg)
        with self._send_lock, contextlib.suppress(OSError):
            sock.sendall(HEADER.pack(len(body)) + body)

    def send(self, node_id: str, msg: Any) -> None:
        """Push a daemon message to ``node_id``."""
        with self._cond:
            sock = self._conns[node_id]
        self._send_sock(sock, msg)

    def wait_for(self, predicate: Callable[[list[tuple[str, Any]]], bool], timeout: float) -> None:
        """Block until ``predicate(received)`` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"daemon condition not met; received {self.received}")
                self._cond.wait(remaining)

    def wait_subscribed(self, timeout: float = 20.0) -> None:
        """Block until every expected node subscribed."""
        self.wait_for(lambda _r: self.subscribed >= self.expected, timeout)

    def disconnect(self, node_id: str) -> None:
        """Close the control connection of ``node_id`` (the daemon "dies" for it)."""
        with self._cond:
            sock = self._conns.pop(node_id)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def close(self) -> None:
        """Close everything."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._cond:
            conns = list(self._conns.values())
            self._conns.clear()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # ---- topology -----------------------------------------------------------------

    def token_for(self, sender: str, receiver: str | None = None) -> str:
        """The link token a hand-made ``Hello`` from ``sender`` must carry to ``receiver``
        (default: the one node of :meth:`configs` that reads ``sender``)."""
        if receiver is None:
            readers = self._readers.get(sender, [])
            if len(readers) != 1:
                raise ValueError(f"name the receiver: `{sender}` is read by {readers}")
            receiver = readers[0]
        return link_token(self.key, sender, receiver)

    def configs(self, nodes: dict[str, dict[str, Any]]) -> dict[str, NodeConfig]:
        """NodeConfigs for ``{node: {"inputs": {id: source | InputConfig}, "outputs": []}}``.

        A node's optional ``"descriptor"`` dict is merged into its descriptor entry.
        """
        listen = {nid: f"\0dora-{self.dataflow_id}-{nid}" for nid in nodes}
        routes: dict[str, dict[str, list[Receiver]]] = {nid: {} for nid in nodes}
        inputs: dict[str, dict[str, InputConfig]] = {}
        for nid, spec in nodes.items():
            inputs[nid] = {}
            for iid, source in spec.get("inputs", {}).items():
                cfg = source if isinstance(source, InputConfig) else InputConfig(source=source)
                inputs[nid][iid] = cfg
                producer, _, output = cfg.source.partition("/")
                if producer in nodes:
                    receivers = routes[producer].setdefault(output, [])
                    if all(r.node_id != nid for r in receivers):
                        token = link_token(self.key, producer, nid)
                        receivers.append(Receiver(node_id=nid, address=listen[nid], token=token))
        for nid in nodes:
            for cfg in inputs[nid].values():
                producer = cfg.source.partition("/")[0]
                readers = self._readers.setdefault(producer, [])
                if nid not in readers:
                    readers.append(nid)
        return {
            nid: NodeConfig(
                dataflow_id=self.dataflow_id,
                node_id=nid,
                daemon_address=self.address,
                listen_address=listen[nid],
                inputs=inputs[nid],
                outputs=list(spec.get("outputs", [])),
                routes=routes[nid],
                dataflow_descriptor={
                    "nodes": [{"id": n, **spec.get("descriptor", {})} for n, spec in nodes.items()]
                },
                secret=node_secret(self.key, nid),
                senders={
                    producer: link_token(self.key, producer, nid)
                    for cfg in inputs[nid].values()
                    if (producer := cfg.source.partition("/")[0]) != "dora"
                },
            )
            for nid, spec in nodes.items()
        }
