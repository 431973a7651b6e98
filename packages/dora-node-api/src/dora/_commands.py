"""``dora.run`` and ``dora.build``: the ``dora run`` / ``dora build`` commands as calls.

They run the CLI (package ``dora-dataflow``) in a child process with this interpreter: a
notebook's event loop, a non-main thread or a signal handler of the caller cannot get
in the way, and Ctrl-C reaches the dataflow as it does in a terminal. Nothing of the
CLI is imported here, so ``import dora`` stays light.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys

_INSTALL = (
    "the dora CLI is not installed in this environment: install the `dora-dataflow` package "
    "(e.g. `pip install dora-dataflow`) to use dora.{name}()"
)


def _cli(name: str, args: list[str]) -> None:
    try:
        found = importlib.util.find_spec("dora_cli") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RuntimeError(_INSTALL.format(name=name))
    child = subprocess.Popen([sys.executable, "-m", "dora_cli", *args])
    try:
        code = child.wait()
    except KeyboardInterrupt:
        # let the command stop the dataflow gracefully (never kill it mid-way)
        if not _terminal_signalled_child():
            child.send_signal(signal.SIGINT)
        child.wait()
        raise
    if code != 0:
        # the command printed why (failed nodes, their last stderr lines) as it would
        # in a terminal
        raise RuntimeError(f"`dora {' '.join(args)}` failed (exit code {code})")


def _terminal_signalled_child() -> bool:
    """Whether Ctrl-C came from our terminal: it reached the whole foreground group,
    the child included (a second SIGINT would make the command kill the nodes)."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def run(
    dataflow_path: str | os.PathLike[str], uv: bool | None = None, stop_after: float | None = None
) -> None:
    """Run a dataflow exactly as ``dora run`` does; returns when it ended.

    ``stop_after``: stop it after this many seconds. Raises ``RuntimeError`` when the
    dataflow fails (the reason is printed by the command, as in a terminal).
    """
    args = ["run", os.fspath(dataflow_path)]
    if uv:
        args.append("--uv")
    if stop_after is not None:
        seconds = float(stop_after)
        if not seconds > 0:
            raise ValueError(f"stop_after must be a positive number of seconds, not {stop_after}")
        args += ["--stop-after", f"{seconds!r}s"]
    _cli("run", args)


def build(
    dataflow_path: str | os.PathLike[str],
    uv: bool | None = None,
    coordinator_addr: str | None = None,
    coordinator_port: int | None = None,
    force_local: bool = False,
) -> None:
    """Build a dataflow exactly as ``dora build`` does (``force_local``: ``--local``)."""
    args = ["build", os.fspath(dataflow_path)]
    if uv:
        args.append("--uv")
    if coordinator_addr is not None:
        args += ["--coordinator-addr", str(coordinator_addr)]
    if coordinator_port is not None:
        args += ["--coordinator-port", str(int(coordinator_port))]
    if force_local:
        args.append("--local")
    _cli("build", args)
