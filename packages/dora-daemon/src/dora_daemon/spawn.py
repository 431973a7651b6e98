"""Start a node process and read its output line by line (spec/runtime.md §3, §11).

Each node runs in its own session and process group, so the stop ladder can signal the
whole tree and a terminal Ctrl-C does not reach it directly. The child asks the kernel
for SIGKILL when the thread that forked it dies (``PR_SET_PDEATHSIG``); that thread is
the event-loop thread, so spawn only from the loop. The group is also registered with
the guardian (:mod:`dora_daemon.guardian`), which kills what is left of it if this
process dies.

A low-level subprocess protocol is used rather than ``asyncio.subprocess.Process``,
whose ``wait()`` only returns once the output pipes close: a grandchild that inherited
them would hide the node's exit until it dies too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable

from dora_daemon.forkserver import ForkServer, NotForked, eligible
from dora_daemon.guardian import forget_group, watch_group
from dora_daemon.logs import TRUNCATED_MARKER
from dora_daemon.resolve import ResolvedNode
from dora_message.descriptor_limits import CPU_SETSIZE

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1024 * 1024
STDERR_TAIL_LINES = 500
READER_DRAIN_TIMEOUT = 1.0  # how long to wait for the last output after the process exited
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child only calls it
_STREAMS = {1: "stdout", 2: "stderr"}

LineCallback = Callable[[str, str], None]
"""Called with ``("stdout" | "stderr", line without its newline)``."""


class LineSplitter:
    """Cuts a byte stream into lines of at most ``max_bytes`` (sans-I/O).

    A longer line is cut there, marked with :data:`TRUNCATED_MARKER`, and the rest of it
    is skipped. Invalid UTF-8 is replaced; a trailing ``\\r`` is dropped.
    """

    __slots__ = ("_buffer", "_max", "_skipping")

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_bytes
        self._skipping = False  # inside the rest of a line that was already cut

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return the lines they completed."""
        lines: list[str] = []
        buffer = self._buffer
        buffer += data
        start = 0
        while (newline := buffer.find(b"\n", start)) >= 0:
            if self._skipping:
                self._skipping = False
            else:
                lines.append(_text(buffer[start:newline]))
            start = newline + 1
        del buffer[:start]
        if len(buffer) > self._max:
            if not self._skipping:
                lines.append(_text(buffer[: self._max]) + TRUNCATED_MARKER)
                self._skipping = True
            buffer.clear()
        return lines

    def finish(self) -> list[str]:
        """The unterminated last line, if any."""
        rest = [] if self._skipping or not self._buffer else [_text(self._buffer)]
        self._buffer.clear()
        return rest


def _text(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", "replace").removesuffix("\r")


class _NodeProtocol(asyncio.SubprocessProtocol):
    """Feeds output lines to the callback and reports the exit as soon as it happens."""

    def __init__(self, on_line: LineCallback, stderr_tail: deque[str]) -> None:
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained = asyncio.Event()  # both output pipes closed
        self._on_line = on_line
        self.stderr_tail = stderr_tail
        self._splitters = {fd: LineSplitter() for fd in _STREAMS}

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._emit(fd, self._splitters[fd].feed(data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        splitter = self._splitters.pop(fd, None)
        if splitter is not None:
            self._emit(fd, splitter.finish())
        if not self._splitters:
            self.drained.set()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def _emit(self, fd: int, lines: list[str]) -> None:
        stream = _STREAMS[fd]
        for line in lines:
            if fd == 2:
                self.stderr_tail.append(line)
            try:
                self._on_line(stream, line)
            except Exception:
                log.exception("handling a %s line failed", stream)


class NodeProcess:
    """A running node process and its output pipes."""

    def __init__(
        self, node_id: str, transport: asyncio.SubprocessTransport, protocol: _NodeProtocol
    ) -> None:
        self.node_id = node_id
        self.pid: int = transport.get_pid()
        self.stderr_tail = protocol.stderr_tail
        self._transport = transport
        self._protocol = protocol
        # Once the group is empty its id may be reused by an unrelated process: never
        # signal it again.
        self._group_gone = False

    @property
    def pgid(self) -> int:
        """The node's process group (it is the leader of its own session)."""
        return self.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process exited (negative: killed by that signal)."""
        return self._transport.get_returncode()

    async def wait(self) -> int:
        """Wait for the exit, then briefly for the output it printed last."""
        await self._protocol.exited
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._protocol.drained.wait(), READER_DRAIN_TIMEOUT)
        code = self.returncode
        assert code is not None
        # the kernel's answer first: a group with no process left (the usual end of a
        # node) needs no scan of /proc, which takes milliseconds on a busy host
        if not self.signal_group(0) or not live_group_members(self.pgid):
            self._gone()
        return code

    def signal_group(self, sig: int) -> bool:
        """Send ``sig`` to the node's whole process group; False if the group is gone."""
        if self._group_gone:
            return False
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            # PermissionError: the id now names a group we do not own, ours is gone.
            self._gone()
            return False
        return True

    def _gone(self) -> None:
        if not self._group_gone:
            self._group_gone = True
            forget_group(self.pgid)

    def group_alive(self) -> bool:
        """Whether any live process is left in the node's group.

        Zombies do not count: orphans are reaped by init, which may take its time (or,
        in some containers, never), and a zombie holds no resources worth waiting for.
        """
        return self.signal_group(0) and bool(live_group_members(self.pgid))

    def close(self) -> None:
        """Release the pipes (call once the group is gone)."""
        self._transport.close()
        self._gone()


def live_group_members(pgid: int) -> list[int]:
    """PIDs of the processes in group ``pgid`` that are not zombies (scans ``/proc``)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue  # exited meanwhile
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def _child_setup(parent_pid: int, cpu_affinity: tuple[int, ...] | None) -> Callable[[], None]:
    # Cores at or above CPU_SETSIZE cannot be set (validation warned): skip them here, in
    # the parent, since an exception in the forked child fails the spawn.
    cores = tuple(core for core in cpu_affinity or () if 0 <= core < CPU_SETSIZE)

    def setup() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)  # the daemon died between fork and prctl
        if cores:
            # Cores that do not exist: run unpinned rather than not at all.
            with contextlib.suppress(OSError, OverflowError, ValueError):
                os.sched_setaffinity(0, cores)

    return setup


async def spawn_node(
    node: ResolvedNode, on_line: LineCallback, fork_server: ForkServer | None = None
) -> NodeProcess:
    """Start ``node``; raises ``OSError`` when the executable cannot be run.

    A Python node that runs as ``fork_server`` would run it is forked from that warm
    interpreter instead of started from scratch (:mod:`dora_daemon.forkserver`).
    """
    loop = asyncio.get_running_loop()
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    if fork_server is not None and eligible(node, fork_server.env) and await fork_server.ready():
        protocol = _NodeProtocol(on_line, tail)
        try:
            forked = await fork_server.spawn(node, protocol)
        except NotForked as error:
            log.warning("node %s is started without the fork server: %s", node.id, error)
        else:
            process = NodeProcess(node.id, forked, protocol)  # type: ignore[arg-type]
            watch_group(process.pgid)
            return process
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _NodeProtocol(on_line, tail),
            *node.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=node.cwd,
            env=node.env,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid(), node.cpu_affinity),
        )
    except subprocess.SubprocessError as err:
        # The child failed between fork and exec ("Exception occurred in preexec_fn"): a
        # spawn failure like any other, not an error that ends the daemon's run, which once
        # reported the dataflow as finished (ok) while the node had never run.
        raise OSError(f"the node process could not be set up: {err}") from err
    process = NodeProcess(node.id, transport, protocol)
    # if this process dies, the guardian takes the node's whole group down with it
    watch_group(process.pgid)
    return process


def describe_spawn_failure(node: ResolvedNode, error: OSError) -> str:
    """Why ``node`` did not start, in the words a user needs: a bare command name that is
    not on the node's PATH says so and shows that PATH (the node's own ``env: PATH``
    decides where a venv's entry point is found, docs/node-venvs.md)."""
    program = node.argv[0] if node.argv else "?"
    if isinstance(error, FileNotFoundError) and "/" not in program:
        path = node.env.get("PATH", "")
        return (
            f"failed to spawn node {node.id}: `{program}` was not found on the node's PATH "
            f"({path or 'empty'}); give an absolute path or set the node's `env: PATH`"
        )
    return f"failed to spawn node {node.id} ({' '.join(node.argv)}): {error}"
