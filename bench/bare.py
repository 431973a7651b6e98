"""The bare floors: what plain Python processes do on this machine, measured in the run.

* :func:`pair_latency`: two processes exchanging the benchmark's payloads over a Unix
  socket at the same pacing (``nodes/bare_pair.py``), one-way latency per size;
* :func:`start_and_pss`: N processes started at once, each importing pyarrow: the time
  until every one has it imported, and their PSS per process while all are alive.

Each uses the interpreter the nodes of ours run with (the workspace venv's) and their
environment (bytecode written and reused, as for the nodes: see ``peer._venv_env``).
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import tempfile
import time
from pathlib import Path

from flows import NODES_DIR
from peer import REPO_ROOT, ours_system
from pss import pss_bytes

PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
PAIR_TIMEOUT_ALLOWANCE_S = 20.0
# prints once pyarrow is imported, then holds it until its stdin closes
HOLD_PYARROW = "import sys, pyarrow; print('ready', flush=True); sys.stdin.read()"


def bare_env() -> dict[str, str]:
    """The environment ours gives its nodes."""
    return ours_system().env


class FloorError(RuntimeError):
    """A bare floor could not be measured (the message says why)."""


def pair_latency(
    sizes: list[int],
    counts: list[int],
    warmups: list[int],
    interval_ms: float,
    python: Path = PYTHON,
) -> dict[int, list[int]]:
    """One-way latencies (ns) per size of the bare Unix-socket pair, warm-ups left out."""
    total = sum(counts) + sum(warmups)
    script = str(NODES_DIR / "bare_pair.py")
    timeout = total * interval_ms / 1000 + PAIR_TIMEOUT_ALLOWANCE_S
    with tempfile.TemporaryDirectory(prefix="bare-pair-") as work:
        sock, result = f"{work}/pair.sock", Path(work) / "result.json"
        recv = subprocess.Popen(
            [str(python), script, "recv", sock, str(result), str(total)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=bare_env(),
        )
        try:
            if recv.stdout is None or recv.stdout.readline().strip() != "ready":
                raise FloorError("the bare pair's receiver did not start")
            plan = [",".join(map(str, values)) for values in (sizes, counts, warmups)]
            send = subprocess.run(
                [str(python), script, "send", sock, *plan, str(interval_ms)],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=bare_env(),
            )
            if send.returncode != 0:
                raise FloorError(f"the bare pair's sender failed: {send.stderr.strip()[-300:]}")
            recv.wait(timeout=PAIR_TIMEOUT_ALLOWANCE_S)
            data = json.loads(result.read_text())
        except (OSError, ValueError, subprocess.TimeoutExpired) as error:
            raise FloorError(f"the bare pair did not complete: {error}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                recv.kill()
            recv.wait()
    if data["corrupt"]:
        raise FloorError(f"the bare pair saw {data['corrupt']} corrupt payload(s)")
    return {int(size): lat for size, lat in data["lat_ns"].items()}


def start_and_pss(count: int, timeout_s: float, python: Path = PYTHON) -> tuple[float, float]:
    """Start ``count`` processes at once, each importing pyarrow.

    Returns the seconds from the first launch until every one has pyarrow imported, and
    their PSS per process (bytes) while all of them are alive and idle.
    """
    procs: list[subprocess.Popen[str]] = []
    env = bare_env()
    try:
        start = time.monotonic()
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [str(python), "-c", HOLD_PYARROW],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        for proc in procs:  # ends when the slowest has imported pyarrow
            assert proc.stdout is not None
            left = start + timeout_s - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise FloorError(f"{count} bare processes took over {timeout_s:.0f} s")
            if proc.stdout.readline().strip() != "ready":
                raise FloorError("a bare `import pyarrow` process failed")
        elapsed = time.monotonic() - start
        total = [pss_bytes(proc.pid) for proc in procs]
        if any(pss is None for pss in total):
            raise FloorError("cannot read the PSS of a bare process")
        return elapsed, sum(total) / count  # type: ignore[arg-type]
    finally:
        for proc in procs:
            with contextlib.suppress(OSError, ValueError):
                if proc.stdin:
                    proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
