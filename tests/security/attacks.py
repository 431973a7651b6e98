"""The data-plane attacks of issue 13, run in a forked child as another user or as ours.

Each attack is a plain function returning a JSON-able dict of what the attacker saw; it
runs in a child process forked from the test (so it can drop to ``nobody`` with
``setuid`` even though ``/root`` holds the interpreter) and reports through a pipe.
Everything it needs is imported before the fork.
"""

from __future__ import annotations

import array
import contextlib
import encodings.idna  # noqa: F401  (socket encodes host names with it: load it before setuid)
import errno
import fcntl
import json
import os
import pwd
import select
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from dora_message.data_protocol import Closed, Data, DropSegment, Hello, NewSegment, data_encoder
from dora_message.dataplane.framing import encode_frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    Register,
    node_encoder,
    to_node_decoder,
)

ATTACK_TIMEOUT = 20.0
FORGED = 50
FLOOD_FDS = 20_000
FDS_PER_FRAME = 200  # below SCM_MAX_FD (253)

Result = dict[str, Any]


def nobody() -> tuple[int, int] | None:
    """``(uid, gid)`` of another user to attack as, None when we cannot switch."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def run_as(uid_gid: tuple[int, int] | None, attack: Callable[..., Result], *args: Any) -> Result:
    """Run ``attack(*args)`` in a forked child (as ``uid_gid`` when given)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no locks, no threads, only syscalls
        code = 0
        try:
            os.close(read_end)
            if uid_gid is not None:
                os.setgroups([])
                os.setgid(uid_gid[1])
                os.setuid(uid_gid[0])
            result = attack(*args)
            result["uid"] = os.geteuid()
        except BaseException as error:  # report everything, never return into pytest
            result = {"crashed": repr(error)}
            code = 1
        with contextlib.suppress(OSError):
            os.write(write_end, json.dumps(result).encode())
        os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + ATTACK_TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the attack {attack.__name__} did not finish")
            ready, _w, _x = select.select([read_end], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # by pid; a no-op once it exited
        os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b"{}")


# ---- helpers (child side) ----------------------------------------------------------------


def _connect(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5.0)
    sock.connect(address)
    return sock


def _send(sock: socket.socket, frame: bytes | bytearray, fds: list[int] | None = None) -> bool:
    """False once the peer is gone (it closed the connection on us)."""
    try:
        if fds:
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            sent = sock.sendmsg([frame], ancillary)
            if sent < len(frame):
                sock.sendall(memoryview(frame)[sent:])
        else:
            sock.sendall(frame)
    except OSError as error:
        if error.errno in (errno.EPIPE, errno.ECONNRESET):
            return False
        raise
    return True


def _peer_closed(sock: socket.socket, wait: float = 5.0) -> bool:
    """Whether the peer ends the connection within ``wait`` s (it never answers data)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([sock], [], [], deadline - time.monotonic())
        if not ready:
            continue
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
    return False


def _hello(dataflow_id: str, token: str) -> bytearray:
    return encode_frame(data_encoder, Hello(dataflow_id, "sender", PROTOCOL_VERSION, token))


# ---- the attacks -------------------------------------------------------------------------


def forge(address: str, dataflow_id: str, token: str) -> Result:
    """50 messages as if from ``sender/out``, then a ``closed ... stopping`` frame."""
    sock = _connect(address)
    sent = 0
    alive = _send(sock, _hello(dataflow_id, token))
    for i in range(FORGED):
        if not alive:
            break
        forged = Data("out", time.time_ns(), {"forged": True, "i": i}, "raw", inline=b"FORGED")
        alive = _send(sock, encode_frame(data_encoder, forged))
        sent += alive
    if alive:
        alive = _send(sock, encode_frame(data_encoder, Closed(["out"], True)))
    closed = not alive or _peer_closed(sock)
    sock.close()
    return {"sent": sent, "peer_closed": closed}


def shrink(address: str, dataflow_id: str, token: str) -> Result:
    """A memfd that shrinks after it was announced, then data pointing into it; and a
    sealed one smaller than announced."""
    size = 1024 * 1024
    results: Result = {}
    for variant in ("unsealed", "undersized"):
        sock = _connect(address)
        alive = _send(sock, _hello(dataflow_id, token))
        if variant == "unsealed":
            fd = os.memfd_create("attack", os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
        else:
            fd = os.memfd_create("attack", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            os.ftruncate(fd, 4096)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
        if alive:
            alive = _send(sock, encode_frame(data_encoder, NewSegment(1, size)), [fd])
        time.sleep(0.2)  # let the receiver map it (if it would)
        if variant == "unsealed":
            os.ftruncate(fd, 0)  # a receiver that mapped it would now fault on reading
        data = Data("out", time.time_ns(), {}, "raw", None, None, 1, size - 4096, 4096, 1)
        if alive:
            alive = _send(sock, encode_frame(data_encoder, data))
        os.close(fd)
        results[variant] = not alive or _peer_closed(sock)
        sock.close()
    return {"peer_closed": results["unsealed"] and results["undersized"], **results}


def fd_flood(address: str, dataflow_id: str, token: str) -> Result:
    """20,000 descriptors attached to harmless frames: 200 per frame, then one per frame."""
    devnull = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    harmless = encode_frame(data_encoder, DropSegment(424242))
    results: Result = {}
    for per_frame in (FDS_PER_FRAME, 1):
        sock = _connect(address)
        alive = _send(sock, _hello(dataflow_id, token))
        passed = 0
        while alive and passed < FLOOD_FDS:
            alive = _send(sock, harmless, [devnull] * per_frame)
            passed += per_frame if alive else 0
        results[f"passed_{per_frame}"] = passed
        results[f"closed_{per_frame}"] = not alive or _peer_closed(sock)
        sock.close()
    os.close(devnull)
    results["peer_closed"] = results[f"closed_{FDS_PER_FRAME}"] and results["closed_1"]
    return results


def bootstrap(port: int, node_id: str) -> Result:
    """Ask the dynamic-node bootstrap for ``node_id``'s config (which holds its secret)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
    sock.sendall(json.dumps({"node_id": node_id}).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    reply = json.loads(data or b"{}")
    return {"got_config": "config" in reply, "error": reply.get("error")}


def hijack(address: str, dataflow_id: str, node_id: str, secret: str) -> Result:
    """Register as ``node_id`` at its daemon (meant for a restarting node's slot)."""
    sock = _connect(address)
    register = Register(dataflow_id, node_id, PROTOCOL_VERSION, os.getpid(), secret)
    body = node_encoder.encode(register)
    alive = _send(sock, len(body).to_bytes(4, "little") + body)
    reply: Any = None
    data = b""
    deadline = time.monotonic() + 5.0
    while alive and time.monotonic() < deadline:
        ready, _w, _x = select.select([sock], [], [], deadline - time.monotonic())
        if not ready:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        data += chunk
        if len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:4], "little"):
            reply = to_node_decoder.decode(data[4 : 4 + int.from_bytes(data[:4], "little")])
            break
    sock.close()
    error = getattr(reply, "error", None)
    accepted = reply is not None and not error
    return {"replied": reply is not None, "error": error, "accepted": accepted}
