"""Start the fork server process (:mod:`dora_daemon.forkserver_main`), cheaply.

Kept to the standard library so that ``dora run`` can start the server before it imports
anything of its own: every millisecond spent here delays the moment the server has
pyarrow imported and the first node can be forked (see docs/startup.md). The daemon's
side of the conversation is :mod:`dora_daemon.forkserver`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from dora_message.constants import ENV_FORK_SERVER, ENV_FORK_SERVER_ROOM

ENV_ROOM = ENV_FORK_SERVER_ROOM
ENV_ROOM_BYTES = 32768
_SERVER_CODE = "from dora_daemon.forkserver_main import serve; serve({fd})"
# the server's last argument: room for a forked node's command line (forkserver_main)
_TITLE_ROOM = "dora-fork-server" + " " * 2032
_PR_SET_PDEATHSIG = 1


class Launched(NamedTuple):
    """A started server: its process, the daemon's end of its socket, its environment."""

    process: subprocess.Popen[bytes]
    sock: socket.socket
    env: dict[str, str]


def enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``DORA_FORK_SERVER`` allows a fork server (on unless 0/false/no/off)."""
    return env.get(ENV_FORK_SERVER, "1").strip().lower() not in ("0", "false", "no", "off")


def server_env(host_env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The server's environment: the host's, unbuffered as every Python node's is
    (dora_daemon.resolve). Variables the daemon scrubs from nodes (``LD_PRELOAD``...)
    stay: a node whose interpreter-level variables differ from these is not forked."""
    return {**host_env, "PYTHONUNBUFFERED": "1"}


def _dies_with(parent_pid: int) -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent died between fork and prctl

    return setup


def launch() -> Launched | None:
    """Start the server process now (it imports while the caller goes on); None if it
    cannot be started. Call from the thread that will run the event loop: the server
    dies with that thread (``PR_SET_PDEATHSIG``)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    env = server_env()
    try:
        process = subprocess.Popen(
            [sys.executable, "-u", "-c", _SERVER_CODE.format(fd=theirs.fileno()), _TITLE_ROOM],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**env, ENV_ROOM: " " * ENV_ROOM_BYTES},
            cwd="/",
            start_new_session=True,
            pass_fds=(theirs.fileno(),),
            preexec_fn=_dies_with(os.getpid()),
        )
    except (OSError, subprocess.SubprocessError):
        ours.close()
        return None
    finally:
        theirs.close()
    ours.setblocking(False)
    return Launched(process, ours, env)


_prestarted: Launched | None = None


def prestart(dataflow_text: str, uv: bool) -> None:
    """Start the server as early as possible when the dataflow may have Python nodes
    (its text names a ``.py`` file), so its imports overlap ``dora run``'s own."""
    global _prestarted
    if _prestarted is None and not uv and ".py" in dataflow_text and enabled():
        _prestarted = launch()


def take_prestarted() -> Launched | None:
    """The server :func:`prestart` started, handed over once."""
    global _prestarted
    launched, _prestarted = _prestarted, None
    return launched


def read_text(path: Path) -> str:
    """The dataflow file's text for :func:`prestart` ('' if unreadable: no server)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
