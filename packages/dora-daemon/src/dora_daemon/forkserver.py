"""Start Python nodes by forking a warm interpreter (the daemon's side of the fork server).

A plain Python node spends most of its start in the interpreter's own start and in
``import pyarrow`` / ``from dora import Node`` (~100-150 ms of CPU before it can say
hello). ``dora run`` starts one process early (:mod:`dora_daemon.forkserver_launch`,
:mod:`dora_daemon.forkserver_main`) that has done that once; each eligible node is then
a fork of it (a few ms), see docs/startup.md.

Only nodes that would run exactly as the server does qualify (:func:`eligible`):
``<this interpreter> -u script.py args`` or ``<this interpreter> -u -c code`` (the
operator runtime), with the same interpreter-level environment (``PYTHON*``, loader,
locale and library settings), so a node with its own venv interpreter, ``uv run``, a
conda operator or a different ``PYTHONPATH`` is spawned the usual way. The node still
gets its own session and process group, its environment, cwd, argv and stdout/stderr
pipes, and the stop ladder, the guardian and exit codes work as for any node.
``DORA_FORK_SERVER=0`` turns the fork server off.
"""

from __future__ import annotations

import array
import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Mapping

from dora_daemon.forkserver_launch import ENV_ROOM_BYTES, Launched, launch
from dora_daemon.resolve import ResolvedNode
from dora_message.descriptor_limits import CPU_SETSIZE

log = logging.getLogger(__name__)

READY_TIMEOUT = 20.0  # a server not ready by then is given up; nodes spawn the usual way
_MAX_MESSAGE = 64 * 1024  # the server's messages are a few dozen bytes
# Environment that shapes the interpreter or the libraries the server imported (read at
# interpreter start or at import): a node must see the same values as the server.
_INTERPRETER_PREFIXES = ("PYTHON", "LD_", "LC_", "ARROW_", "OMP_", "MALLOC", "JE_", "UV_")
_INTERPRETER_VARS = frozenset({"LANG", "LANGUAGE", "TZ", "VIRTUAL_ENV", "CONDA_PREFIX"})


def _env_block_size(env: Mapping[str, str]) -> int:
    """Bytes of ``env`` in a process's environment area (``KEY=VALUE\\0`` each)."""
    return sum(len(os.fsencode(key)) + len(os.fsencode(value)) + 2 for key, value in env.items())


def _interpreter_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(_INTERPRETER_PREFIXES) or k in _INTERPRETER_VARS
    }


def eligible(node: ResolvedNode, env: Mapping[str, str]) -> bool:
    """Whether ``node`` runs as the fork server would run it (``env``: the server's)."""
    argv = node.argv
    return (
        len(argv) >= 3
        and argv[0] == sys.executable
        and argv[1] == "-u"
        and (_runs_code(argv) or (argv[2].endswith(".py") and os.path.isfile(argv[2])))
        and node.cwd.is_dir()
        and _interpreter_env(node.env) == _interpreter_env(env)
        # the node's environment must fit where the server's was (forkserver_main)
        and _env_block_size(node.env) < _env_block_size(env) + ENV_ROOM_BYTES
    )


def _runs_code(argv: tuple[str, ...]) -> bool:
    """``python -u -c CODE [args]``: the operator runtime (dora_daemon.commands)."""
    return len(argv) >= 4 and argv[2] == "-c"


class NotForked(OSError):
    """The fork server did not start the node (no process exists): exec it instead."""


class ForkServer:
    """One fork server process and the requests in flight to it. Use from one loop."""

    def __init__(self, launched: Launched) -> None:
        self.env = launched.env  # what eligible() compares a node's environment with
        self._process = launched.process
        self._sock = launched.sock
        self._ready: asyncio.Future[bool] | None = None
        self._replies: dict[int, asyncio.Future[dict]] = {}
        self._exits: dict[int, _ForkedTransport] = {}
        self._early_exits: dict[int, int] = {}
        self._next_request = 0
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        # one sender at a time: asyncio keeps a single writer callback per fd, so two
        # spawns waiting for room at once would replace (and remove) each other's
        self._sending = asyncio.Lock()
        self._shrunk = False

    @classmethod
    def start(cls, launched: Launched | None = None) -> ForkServer | None:
        """Take over ``launched`` (see :func:`~dora_daemon.forkserver_launch.prestart`)
        or start a server now; None if it cannot be started."""
        launched = launched or launch()
        return None if launched is None else cls(launched)

    async def ready(self) -> bool:
        """Wait until the server has imported what it preloads; False if it failed or
        no longer forks."""
        if self._closed or self._shrunk:
            return False
        if self._reader is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            self._reader = asyncio.create_task(self._read())
        assert self._ready is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._ready), READY_TIMEOUT)
        except TimeoutError:
            log.warning(
                "the fork server was not ready in %s s; spawning nodes the usual way", READY_TIMEOUT
            )
            self.close()
            return False

    async def spawn(
        self, node: ResolvedNode, protocol: asyncio.SubprocessProtocol
    ) -> _ForkedTransport:
        """Fork ``node``; raises :class:`NotForked` when the server did not."""
        loop = asyncio.get_running_loop()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        request = self._next_request = self._next_request + 1
        reply: asyncio.Future[dict] = loop.create_future()
        self._replies[request] = reply
        message = {
            "req": request,
            "argv": list(node.argv),
            **(
                {"code": node.argv[3], "args": list(node.argv[4:])}
                if _runs_code(node.argv)
                else {"script": node.argv[2], "args": list(node.argv[3:])}
            ),
            "cwd": str(node.cwd),
            "env": node.env,
            # cores the kernel's mask cannot hold are skipped, as by a usual spawn
            "cpu_affinity": [c for c in node.cpu_affinity or () if 0 <= c < CPU_SETSIZE],
        }
        try:
            fds = array.array("i", [out_write, err_write])
            try:
                await self._send(json.dumps(message).encode(), fds)
            except OSError as error:  # e.g. EMSGSIZE: an environment too large for a message
                raise NotForked(f"the request did not reach the fork server: {error}") from None
            answer = await reply
        except BaseException:
            os.close(out_read)
            os.close(err_read)
            raise
        finally:
            self._replies.pop(request, None)
            os.close(out_write)
            os.close(err_write)
        if "pid" not in answer:
            os.close(out_read)
            os.close(err_read)
            raise NotForked(answer.get("error", "the fork server did not start the node"))
        transport = _ForkedTransport(answer["pid"], protocol)
        self._exits[transport.pid] = transport
        if transport.pid in self._early_exits:
            transport.exited(self._early_exits.pop(transport.pid))
        await transport.connect(loop, out_read, err_read)
        return transport

    async def shrink(self) -> None:
        """Stop forking: the server turns into a bare process that only reports its
        nodes' exits (~10 MB instead of ~55 MB for the rest of the run); later spawns,
        e.g. restarts, exec. Call once the initial spawns are done."""
        if self._closed or self._shrunk:
            return
        self._shrunk = True
        try:
            await self._send(json.dumps({"shrink": True}).encode(), array.array("i"))
        except OSError as error:
            log.debug("fork server not shrunk: %s", error)

    async def _send(self, data: bytes, fds: array.array) -> None:
        """Send one request, waiting while the socket is full: a request carries the
        node's whole environment, so spawning a few dozen nodes at once got EAGAIN."""
        loop = asyncio.get_running_loop()
        async with self._sending:
            await self._send_now(loop, data, fds)

    async def _send_now(
        self, loop: asyncio.AbstractEventLoop, data: bytes, fds: array.array
    ) -> None:
        while True:
            try:
                rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)] if len(fds) else []
                self._sock.sendmsg([data], rights)
                return
            except BlockingIOError:
                writable: asyncio.Future[None] = loop.create_future()
                fd = self._sock.fileno()
                loop.add_writer(fd, _set_once, writable)
                try:
                    await writable
                finally:
                    loop.remove_writer(fd)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await loop.sock_recv(self._sock, _MAX_MESSAGE)
                if not data:
                    break
                self._dispatch(json.loads(data))
        except (OSError, ValueError) as error:
            log.debug("fork server connection lost: %s", error)
        finally:
            self._lost()

    def _dispatch(self, message: dict) -> None:
        if "exit" in message:
            pid, code = message["exit"], message["code"]
            transport = self._exits.pop(pid, None)
            if transport is None:
                self._early_exits[pid] = code
            else:
                transport.exited(code)
        elif "req" in message:
            reply = self._replies.get(message["req"])
            if reply is not None and not reply.done():
                reply.set_result(message)
        elif self._ready is not None and not self._ready.done():
            if "error" in message:
                log.warning(
                    "fork server failed (%s); spawning nodes the usual way", message["error"]
                )
            if "warm_up_error" in message:
                log.warning(
                    "fork server: the node API's warm-up failed (%s); forked nodes pay their "
                    "first-message costs themselves",
                    message["warm_up_error"],
                )
            self._ready.set_result(bool(message.get("ready")))

    def _lost(self) -> None:
        """The server is gone: its nodes are gone with it (PR_SET_PDEATHSIG)."""
        self._closed = True
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(False)
        for reply in self._replies.values():
            if not reply.done():
                reply.set_result({"error": "the fork server exited"})
        for transport in self._exits.values():
            transport.exited(-9)
        self._exits.clear()

    def close(self) -> None:
        """End the server (call once its nodes have exited: it takes them with it)."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
        self._sock.close()
        # nothing of it is worth a clean interpreter exit (~15 ms with pyarrow loaded)
        self._process.kill()
        self._process.wait()


class _PipeReader(asyncio.Protocol):
    """Forwards one output pipe to the node's protocol under its fd number."""

    def __init__(self, protocol: asyncio.SubprocessProtocol, fd: int) -> None:
        self._protocol = protocol
        self._fd = fd

    def data_received(self, data: bytes) -> None:
        self._protocol.pipe_data_received(self._fd, data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.pipe_connection_lost(self._fd, exc)


class _ForkedTransport:
    """What :class:`~dora_daemon.spawn.NodeProcess` needs of a subprocess transport, for
    a node the fork server started (its exit comes as a message from the server)."""

    def __init__(self, pid: int, protocol: asyncio.SubprocessProtocol) -> None:
        self.pid = pid
        self._protocol = protocol
        self._returncode: int | None = None
        self._pipes: list[asyncio.BaseTransport] = []

    async def connect(self, loop: asyncio.AbstractEventLoop, out_read: int, err_read: int) -> None:
        for fd, pipe in ((1, out_read), (2, err_read)):
            transport, _ = await loop.connect_read_pipe(
                lambda fd=fd: _PipeReader(self._protocol, fd), os.fdopen(pipe, "rb", buffering=0)
            )
            self._pipes.append(transport)

    def exited(self, code: int) -> None:
        if self._returncode is None:
            self._returncode = code
            self._protocol.process_exited()

    def get_pid(self) -> int:
        return self.pid

    def get_returncode(self) -> int | None:
        return self._returncode

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.close()


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
