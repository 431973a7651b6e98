"""The guardian process: kills the daemon's node process groups when the daemon dies.

Run as a script (``python -I -S guardian_main.py``), so it imports nothing of dora and
starts in milliseconds. It forks once and the parent exits at once, so the guardian is
nobody's child: it outlives the daemon by design. It reads ``+PGID`` / ``-PGID`` lines
on stdin (groups to watch / to forget). When stdin reaches end of file -- the daemon
closed it or died, even by SIGKILL -- every group still watched gets SIGKILL and the
guardian exits. This covers what ``PR_SET_PDEATHSIG`` cannot: grandchildren of the
daemon (wrappers, subprocesses of nodes) that stay in a node's process group.
"""

import contextlib
import os
import signal
import sys


def _serve(stream: int) -> None:
    watched: set[int] = set()
    pending = b""
    while True:
        try:
            chunk = os.read(stream, 4096)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            try:
                pgid = int(line[1:])
            except ValueError:
                continue
            if pgid <= 1:
                continue
            if line.startswith(b"+"):
                watched.add(pgid)
            elif line.startswith(b"-"):
                watched.discard(pgid)
    for pgid in watched:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def main() -> None:
    """Detach (fork, parent exits), then serve stdin until it closes."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    _serve(sys.stdin.fileno())
    os._exit(0)


if __name__ == "__main__":
    main()
