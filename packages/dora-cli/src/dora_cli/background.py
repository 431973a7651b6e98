"""The background processes of ``dora up`` / ``dora down``: start, record, end.

``dora up`` starts ``python -m dora_coordinator`` and ``python -m dora_daemon`` with the
CLI's own interpreter (``sys.executable``), each in its own session so a terminal
Ctrl-C does not reach them, and records their PIDs in the state dir (env
``DORA_STATE_DIR``, else the platform's user state dir), one file per port so that
instances on different ports do not mix. Their output goes to ``<name>-<port>.log``
beside the PID file. A PID is only ever signalled after checking that the process is
still the one we started (its command line names the module).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import platformdirs
import psutil

from dora_message.constants import ENV_STATE_DIR
from dora_message.private_files import open_private

COORDINATOR = "dora_coordinator"
DAEMON = "dora_daemon"


def state_dir() -> Path:
    """Where PID and log files live (created 0700)."""
    configured = os.environ.get(ENV_STATE_DIR)
    path = Path(configured) if configured else Path(platformdirs.user_state_dir("dora"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def pid_file(module: str, port: int) -> Path:
    """``<state dir>/<module>-<port>.pid``."""
    return state_dir() / f"{module}-{port}.pid"


def log_file(module: str, port: int) -> Path:
    """``<state dir>/<module>-<port>.log``."""
    return state_dir() / f"{module}-{port}.log"


def start(module: str, port: int, args: list[str]) -> subprocess.Popen[bytes]:
    """Start ``python -m module args`` detached, record its PID, return the handle."""
    log_path = log_file(module, port)
    with open_private(log_path) as output:  # 0600, like everything in the state folder
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    with open_private(pid_file(module, port)) as pid_out:
        pid_out.write(f"{process.pid}\n".encode())
    return process


def recorded(module: str, port: int) -> psutil.Process | None:
    """The recorded process if it still runs and is still ours."""
    path = pid_file(module, port)
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
        process = psutil.Process(pid)
        command = " ".join(process.cmdline())
    except (OSError, ValueError, psutil.Error):
        return None
    if module not in command or process.status() == psutil.STATUS_ZOMBIE:
        return None
    return process


def forget(module: str, port: int) -> None:
    """Remove the PID file."""
    pid_file(module, port).unlink(missing_ok=True)


def end(process: psutil.Process, timeout: float) -> bool:
    """Wait up to ``timeout`` for ``process`` to exit, then SIGTERM, then SIGKILL.

    Returns True if it had to be signalled.
    """
    try:
        process.wait(timeout)
        return False
    except psutil.TimeoutExpired:
        pass
    except psutil.NoSuchProcess:
        return False
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            process.send_signal(sig)
            process.wait(wait)
            return True
        except psutil.NoSuchProcess:
            return True
        except psutil.TimeoutExpired:
            continue
    return True


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file (for error messages)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
