"""The fork server process: a Python node interpreter with pyarrow and dora imported.

Started by :mod:`dora_daemon.forkserver` as ``python -u -c "...serve()"`` with the
interpreter and (scrubbed) environment Python nodes get, so what it imports is what a
node would import. It then waits for requests on the socket whose fd it is given
(``SOCK_SEQPACKET``: one JSON message each, a spawn request carrying the node's stdout
and stderr pipes as ``SCM_RIGHTS``). For each it forks; the child becomes the node --
own session and process group, ``PR_SET_PDEATHSIG`` towards this process, the node's
cwd, environment and argv -- and runs the script as ``__main__`` (``runpy``), so it
ends, prints tracebacks and exits like ``python -u script.py`` would, only without
paying for the interpreter start and those imports again (~100-150 ms of CPU a node).

Before forking, the server also warms the node API up (:mod:`dora.warm_up`: a node's
first message, run once on in-memory data), so its nodes inherit pyarrow's and msgspec's
one-time set-up instead of each paying for it.

Messages to the daemon: ``{"ready": true}`` (with ``"warm_up_error"`` if the warm-up
failed) or ``{"error": ...}`` once after the imports, ``{"req": n, "pid": p}`` /
``{"req": n, "error": ...}`` per request and ``{"exit": p, "code": c}`` when a node
ends (``c`` as ``asyncio``'s returncode: negative for a signal). When the daemon's end
of the socket closes (it is done, or it died) the server exits, and
``PR_SET_PDEATHSIG`` takes any node still running with it; the server itself has
``PR_SET_PDEATHSIG`` towards the daemon.
"""

from __future__ import annotations

import array
import contextlib
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys

TYPE_CHECKING = False  # not typing's: the reaper (reap_only) starts without importing it
if TYPE_CHECKING:
    import ctypes

_PR_SET_PDEATHSIG = 1
_MAX_MESSAGE = 1 << 20  # a request holds a node's whole environment


def _send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


# What nearly every Python node imports first, and pays most for. They are the nodes'
# modules, not the daemon's dependencies: the server only runs under `dora run`, whose
# environment has them, and falls back to exec'ing nodes when an import fails.
PRELOADED = ("pyarrow", "pyarrow.compute", "dora.node")


# Run once what a node's first message runs (pyarrow's IPC and type set-up, msgspec's
# per-type state, specialized bytecode): ~1 ms of CPU each forked node no longer pays.
WARM_UP = "dora.warm_up"


def _preload() -> None:
    for name in PRELOADED:
        importlib.import_module(name)


def _warm_up() -> str | None:
    """Warm the node API (:data:`WARM_UP`); the error if that failed. A failure only
    leaves the nodes to pay their first-use costs themselves: forking goes on."""
    try:
        importlib.import_module(WARM_UP).warm_up()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def serve(fd: int) -> None:
    """Serve on socket ``fd`` until the daemon closes it; in a forked child, run its node."""
    sock = socket.socket(fileno=fd)
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # `-c` put the cwd first; the node gets its script's directory
    gc.disable()  # imports make many objects and no garbage: collecting costs ~6% of them
    try:
        _preload()
    except Exception as error:
        _send(sock, {"error": f"{type(error).__name__}: {error}"})
        return
    warm_up_error = _warm_up()
    import ctypes  # not at the top: the reaper (reap_only) needs none of it

    libc = ctypes.CDLL(None, use_errno=True)
    # everything imported so far lives as long as any node: out of the collector's
    # sight (the node's own gc.freeze at Node() does the same for what it adds)
    gc.freeze()
    gc.enable()
    selector, wake_read, wake_write = _watch(sock)
    _send(sock, {"ready": True, **({"warm_up_error": warm_up_error} if warm_up_error else {})})
    server_pid = os.getpid()
    node: tuple[dict, int, int] | None = None
    while node is None:
        for key, _ in selector.select():
            if key.fileobj is sock:
                request = _receive(sock)
                if request is None:
                    return  # the daemon is done (or gone): nodes go with us
                message, fds = request
                if message.get("shrink"):
                    # on a failed exec, stay as we are: still reaping (the daemon forks no more)
                    with contextlib.suppress(OSError):
                        _become_reaper(sock)
                    continue
                pid = _fork_node(sock, message, fds)
                if pid == 0:
                    node = (message, fds[0], fds[1])
                    break
            else:
                with contextlib.suppress(OSError):
                    os.read(wake_read, 4096)
                _reap_any(sock)  # every child of the server is a node
    # the child: leave the server behind and become the node
    message, out_fd, err_fd = node
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    selector.close()
    sock.close()
    os.close(wake_read)
    os.close(wake_write)
    _become_node(libc, server_pid, message, out_fd, err_fd)


def _watch(sock: socket.socket) -> tuple[selectors.BaseSelector, int, int]:
    """A selector on the daemon's socket and on a pipe that SIGCHLD writes to (a node
    ended); returns it with the pipe's ends (read, write)."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the fd
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    return selector, wake_read, wake_write


def _receive(sock: socket.socket) -> tuple[dict, list[int]] | None:
    fds = array.array("i")
    try:
        data, ancdata, _flags, _addr = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(8))
    except ConnectionError:
        return None
    if not data:
        return None
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    return json.loads(data), list(fds)


def _fork_node(sock: socket.socket, message: dict, fds: list[int]) -> int:
    """Fork for one request; 0 in the child, the child's pid (or -1) in the server."""
    request = message.get("req")
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        _send(sock, {"req": request, "error": "a spawn request needs two pipes"})
        return -1
    try:
        pid = os.fork()
    except OSError as error:
        for fd in fds:
            os.close(fd)
        _send(sock, {"req": request, "error": f"fork failed: {error}"})
        return -1
    if pid == 0:
        return 0
    for fd in fds:
        os.close(fd)
    _send(sock, {"req": request, "pid": pid})
    return pid


def _become_node(
    libc: ctypes.CDLL, server_pid: int, message: dict, out_fd: int, err_fd: int
) -> None:
    os.setsid()  # own session and process group, as a node the daemon execs
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server_pid:
        os._exit(1)  # the server died between fork and prctl
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for fd in {devnull, out_fd, err_fd} - {0, 1, 2}:
        os.close(fd)
    try:
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        cores = message.get("cpu_affinity")
        if cores:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, cores)
    except OSError as error:
        print(f"error: cannot start node: {error}", file=sys.stderr)
        os._exit(1)
    _show_command_line(message["argv"])
    _show_environment(message["env"])
    if "code" in message:
        _run_code(message["code"], message["args"])
    else:
        _run_script(message["script"], message["args"])


def _run_script(script: str, args: list[str]) -> None:
    """As ``python script.py args``."""
    import runpy

    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")


def _run_code(code: str, args: list[str]) -> None:
    """As ``python -c code args``: a fresh ``__main__``, the cwd first on ``sys.path``."""
    import builtins
    import types

    sys.argv = ["-c", *args]
    sys.path.insert(0, "")
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    exec(compile(code, "<string>", "exec"), main.__dict__)


def _argv_and_env_areas() -> tuple[tuple[int, int], tuple[int, int]]:
    """Where the kernel keeps this process's argv and environment strings."""
    with open("/proc/self/stat", "rb") as stat_file:
        stat = stat_file.read()
    fields = stat[stat.rindex(b")") + 2 :].split()  # fields[0] is field 3 (state)
    arg_start, arg_end, env_start, env_end = (int(fields[n - 3]) for n in (48, 49, 50, 51))
    return (arg_start, arg_end), (env_start, env_end)


def _write_own_memory(start: int, data: bytes) -> None:
    with open("/proc/self/mem", "r+b", buffering=0) as memory:
        memory.seek(start)
        memory.write(data)


def _show_environment(env: dict[str, str]) -> None:
    """Make ``/proc/PID/environ`` (what ``ps e`` and psutil read) show the node's own
    environment rather than the server's: written over the server's environment area,
    made large enough by its ``DORA_FORK_SERVER_ROOM`` variable (the daemon checked that
    the node's fits). NUL padding after the last variable ends the list for readers."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        _, (start, end) = _argv_and_env_areas()
        block = b"".join(os.fsencode(f"{key}={value}") + b"\0" for key, value in env.items())
        if len(block) < end - start:
            _write_own_memory(start, block + b"\0" * (end - start - len(block)))


def _show_command_line(argv: list[str]) -> None:
    """Make ``ps``, psutil and ``/proc/PID/cmdline`` show the node's own command line
    (``python -u script.py args``, words separated by spaces as ``setproctitle`` does)
    instead of the server's: written over the server's argv area, which its padding
    argument made long enough. The last byte stays non-NUL, which is how the kernel
    knows to read the area as one title up to its first NUL."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        (start, end), _ = _argv_and_env_areas()
        size = end - start
        if size < 3:
            return
        title = " ".join(argv).encode()[: size - 2]
        area = title + b"\0" * (size - len(title) - 1) + b" "
        _write_own_memory(start, area)


def _become_reaper(sock: socket.socket) -> None:
    """Stop forking (the daemon's initial spawns are done): exec a bare interpreter that
    only reports the nodes' exits. The pid stays, so the nodes keep their parent (it
    must outlive them: it reaps them, and their PR_SET_PDEATHSIG points at it), and the
    ~55 MB of imports nobody forks from any more are gone (~10 MB left). Raises
    ``OSError`` when the exec fails: the server then goes on as it is, since ending it
    would take every node with it."""
    os.set_inheritable(sock.fileno(), True)
    script = os.path.abspath(__file__)
    fd = str(sock.fileno())
    os.execv(sys.executable, [sys.executable, "-I", "-S", script, "--reap", fd, "dora-fork-server"])


def reap_only(fd: int) -> None:
    """The server once it stopped forking: report exits until the daemon closes the
    socket; any further spawn request is refused (the daemon execs that node)."""
    sock = socket.socket(fileno=fd)
    selector, wake_read, _ = _watch(sock)
    _reap_any(sock)  # nodes that ended while the server was being replaced
    while True:
        for key, _ in selector.select():
            if key.fileobj is sock:
                request = _receive(sock)
                if request is None:
                    return
                message, fds = request
                for fd_ in fds:
                    os.close(fd_)
                if "req" in message:
                    _send(sock, {"req": message["req"], "error": "the fork server stopped forking"})
            else:
                with contextlib.suppress(OSError):
                    os.read(wake_read, 4096)
                _reap_any(sock)


def _reap_any(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__" and sys.argv[1:2] == ["--reap"]:
    reap_only(int(sys.argv[2]))
