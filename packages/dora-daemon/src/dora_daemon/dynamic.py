"""The dynamic-node bootstrap listener (spec/runtime.md §3, node-api.md §2).

A process started by hand (a terminal, a notebook, a debugger) calls ``Node("id")``: it
connects to ``127.0.0.1:<DORA_DAEMON_LOCAL_LISTEN_PORT or 53291>``, sends one JSON line
``{"node_id": "id"}`` and reads one JSON line back, ``{"config": "<DORA_NODE_CONFIG>"}``
or ``{"error": "..."}``. With the config it joins like a spawned node.

One listener serves every dataflow of this process (``dora run`` has one, a daemon
several); it listens only while some dataflow declares a ``path: dynamic`` node, so
daemons and runs without dynamic nodes never compete for the port. Port 0 picks a free
port; the port actually used is logged.

The config holds the node's secret, so it goes only to a process of the daemon's own
user (root too with ``DORA_ALLOW_ROOT_PEERS``). TCP has no ``SO_PEERCRED``: the owner of
the connecting socket is read from ``/proc/net/tcp`` (the entry whose local end is the
peer's address and whose remote end is ours); when it cannot be found the request is
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Protocol

from dora_daemon.errors import DaemonError
from dora_message.config import NodeConfig, encode_node_config
from dora_message.constants import DEFAULT_DYNAMIC_NODE_PORT, ENV_DAEMON_LOCAL_LISTEN_PORT
from dora_message.peer import allow_root_from_env, tcp_peer_uid, uid_allowed

log = logging.getLogger(__name__)

DEFAULT_PORT = DEFAULT_DYNAMIC_NODE_PORT
ENV_PORT = ENV_DAEMON_LOCAL_LISTEN_PORT
MAX_REQUEST = 4096  # a request is one short JSON line
REQUEST_TIMEOUT = 10.0


class DynamicError(DaemonError):
    """Why a dynamic node cannot join (sent back to it as the error)."""


class DynamicHost(Protocol):
    """A dataflow that may hand out the config of its dynamic nodes."""

    dataflow_id: str

    def dynamic_node_ids(self) -> list[str]:
        """The ``path: dynamic`` nodes of the dataflow."""
        ...

    def dynamic_config(self, node_id: str) -> NodeConfig:
        """The node's config; raises :class:`DynamicError` when it cannot join now."""
        ...


_port_override: int | None = None


def set_listen_port(port: int | None) -> None:
    """``dora daemon --local-listen-port``: wins over the environment variable."""
    global _port_override
    _port_override = port


def listen_port() -> int:
    """The port dynamic nodes connect to (flag, else environment, else 53291)."""
    if _port_override is not None:
        return _port_override
    raw = os.environ.get(ENV_PORT, "").strip()
    if raw:
        try:
            port = int(raw)
        except ValueError:
            log.warning("ignoring %s=%r: not a port number", ENV_PORT, raw)
        else:
            if 0 <= port <= 65535:
                return port
            log.warning("ignoring %s=%r: not a port number", ENV_PORT, raw)
    return DEFAULT_PORT


def answer(hosts: list[DynamicHost], node_id: object) -> dict[str, str]:
    """The reply to a request for ``node_id``'s config (sans I/O)."""
    if not isinstance(node_id, str) or not node_id:
        return {"error": "the request names no node id"}
    matches = [h for h in hosts if node_id in h.dynamic_node_ids()]
    if not matches:
        known = sorted({f"`{n}`" for h in hosts for n in h.dynamic_node_ids()})
        listing = ", ".join(known) if known else "none"
        return {
            "error": f"no running dataflow here has a dynamic node `{node_id}` "
            f"(dynamic nodes here: {listing})"
        }
    if len(matches) > 1:
        ids = ", ".join(h.dataflow_id for h in matches)
        return {"error": f"dynamic node `{node_id}` is ambiguous: dataflows {ids} declare it"}
    try:
        return {"config": encode_node_config(matches[0].dynamic_config(node_id))}
    except DynamicError as error:
        return {"error": str(error)}


def caller_refusal(uid: int | None, own_uid: int, allow_root: bool) -> str | None:
    """Why the process owning the connecting socket may not get a config (sans I/O)."""
    if uid is None:
        return "the connecting process could not be identified (/proc/net/tcp)"
    if not uid_allowed(uid, own_uid, allow_root):
        return f"the connecting process runs as uid {uid}, not as the daemon's user"
    return None


def _caller_uid(writer: asyncio.StreamWriter) -> int | None:
    peer = writer.get_extra_info("peername")
    ours = writer.get_extra_info("sockname")
    if not (isinstance(peer, tuple) and isinstance(ours, tuple)):
        return None
    return tcp_peer_uid((str(peer[0]), int(peer[1])), (str(ours[0]), int(ours[1])))


class DynamicListener:
    """The process-wide listener; dataflows join and leave it as they run."""

    def __init__(self) -> None:
        self._hosts: list[DynamicHost] = []
        self._server: asyncio.Server | None = None
        self._lock: asyncio.Lock | None = None  # one bind at a time (two dataflows start)
        self.port: int | None = None  # the port actually listened on

    async def add(self, host: DynamicHost) -> int | None:
        """Serve ``host``'s dynamic nodes; the port, or None when it cannot listen."""
        self._hosts.append(host)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._server is None:
                port = listen_port()
                try:
                    self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
                except OSError as error:
                    log.error(
                        "cannot listen for dynamic nodes on 127.0.0.1:%d (%s): set %s or "
                        "`dora daemon --local-listen-port` to a free port",
                        port,
                        error.strerror or error,
                        ENV_PORT,
                    )
                    return None
                self.port = int(self._server.sockets[0].getsockname()[1])
                log.info("listening for dynamic nodes on 127.0.0.1:%d", self.port)
            return self.port

    async def remove(self, host: DynamicHost) -> None:
        """``host`` ended; the listener closes with the last dataflow."""
        with contextlib.suppress(ValueError):
            self._hosts.remove(host)
        if not self._hosts:
            self._lock = None  # a later dataflow may run in another event loop
        if not self._hosts and self._server is not None:
            server, self._server, self.port = self._server, None, None
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
            if len(line) > MAX_REQUEST:
                reply = {"error": "request too long"}
            else:
                try:
                    request = json.loads(line)
                except ValueError:
                    reply = {"error": "the request is not JSON"}
                else:
                    node_id = request.get("node_id") if isinstance(request, dict) else None
                    # looked up now: the peer is connected and waiting for the reply
                    refused = caller_refusal(
                        _caller_uid(writer), os.geteuid(), allow_root_from_env()
                    )
                    if refused is not None:
                        reply = {"error": f"refused: {refused}"}
                    else:
                        reply = answer(self._hosts, node_id)
            if "error" in reply:
                log.warning("a dynamic node could not join: %s", reply["error"])
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError, OSError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


LISTENER = DynamicListener()
