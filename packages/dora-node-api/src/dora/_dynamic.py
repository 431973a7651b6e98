"""Joining a running dataflow as a dynamic node (``Node("id")`` without a config).

The daemon hands out the node's config on ``127.0.0.1:<port>`` (``dora_daemon.dynamic``):
one JSON line ``{"node_id": ...}`` out, one JSON line back with ``config`` or ``error``.
"""

from __future__ import annotations

import json
import os
import socket

from dora_message.config import NodeConfig, decode_node_config
from dora_message.constants import DEFAULT_DYNAMIC_NODE_PORT, ENV_DAEMON_LOCAL_LISTEN_PORT

DEFAULT_PORT = DEFAULT_DYNAMIC_NODE_PORT
ENV_PORT = ENV_DAEMON_LOCAL_LISTEN_PORT
CONNECT_TIMEOUT = 5.0
REPLY_TIMEOUT = 30.0
MAX_REPLY = 64 * 1024 * 1024  # a config carries the whole descriptor


def daemon_port(explicit: int | None) -> int:
    """The port to ask: ``daemon_port=``, else the environment, else 53291."""
    if explicit is not None:
        return int(explicit)
    raw = os.environ.get(ENV_PORT, "").strip()
    if raw:
        try:
            return int(raw)
        except ValueError:
            raise RuntimeError(f"{ENV_PORT}={raw!r} is not a port number") from None
    return DEFAULT_PORT


def fetch_config(node_id: str, port: int) -> NodeConfig:
    """Ask the daemon on ``port`` for ``node_id``'s config; RuntimeError naming what
    was looked for when there is no such dynamic node or no daemon."""
    where = f"127.0.0.1:{port}"
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
    except OSError as err:
        raise RuntimeError(
            f"cannot join as dynamic node `{node_id}`: no dora daemon listens for dynamic "
            f"nodes on {where} ({err.strerror or err}). Is a dataflow declaring "
            f"`{node_id}` with `path: dynamic` running? (the port is {ENV_PORT}, "
            f"default {DEFAULT_PORT})"
        ) from None
    with sock:
        sock.settimeout(REPLY_TIMEOUT)
        try:
            sock.sendall(json.dumps({"node_id": node_id}).encode() + b"\n")
            reply = _read_line(sock)
        except OSError as err:
            raise RuntimeError(
                f"cannot join as dynamic node `{node_id}`: the daemon on {where} did not "
                f"answer ({err})"
            ) from None
    try:
        answer = json.loads(reply)
    except ValueError:
        raise RuntimeError(
            f"cannot join as dynamic node `{node_id}`: unreadable reply from {where}"
        ) from None
    if not isinstance(answer, dict) or "config" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else None
        raise RuntimeError(f"cannot join as dynamic node `{node_id}`: {error or 'refused'}")
    return decode_node_config(answer["config"])


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n") or size > MAX_REPLY:
            break
    return b"".join(chunks)
