"""The bare floors: what plain Python processes do on this machine, measured in the run.

* :func:`pair_latency`: two processes exchanging the benchmark's payloads over a Unix
  socket at the same pacing (``nodes/bare_pair.py``), one-way latency per size;
* :func:`chain`: the same messages through a chain of N processes (sender, N-2 relays,
  receiver) at the same pacing: one-way latency end to end and each relay's CPU time per
  message, what a chain of plain Python processes costs per hop;
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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ChainFloor:
    """What the bare chain measured: latencies end to end (ns, warm-ups left out) and
    each relay's CPU seconds per forwarded message."""

    lat_ns: list[int]
    relay_cpu_s: list[float]


def chain(
    length: int,
    size: int,
    count: int,
    warmup: int,
    interval_ms: float,
    start_timeout_s: float,
    python: Path = PYTHON,
) -> ChainFloor:
    """Send ``count + warmup`` messages of ``size`` bytes through ``length`` processes."""
    if length < 3:
        raise ValueError("a bare chain needs a sender, a relay and a receiver")
    total = count + warmup
    script = str(NODES_DIR / "bare_pair.py")
    env = bare_env()
    send_timeout = total * interval_ms / 1000 + PAIR_TIMEOUT_ALLOWANCE_S
    procs: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="bare-chain-") as work:
        socks = [f"{work}/{i}.sock" for i in range(length - 1)]  # socks[i]: into hop i
        result = Path(work) / "result.json"

        def start(*args: str) -> subprocess.Popen[str]:
            proc = subprocess.Popen(
                [str(python), script, *args],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            procs.append(proc)
            return proc

        try:
            sink = start("recv", socks[-1], str(result), str(total))
            relays = [start("relay", socks[i], socks[i + 1], str(total)) for i in range(length - 2)]
            _wait_ready([sink, *relays], time.monotonic(), start_timeout_s, "bare chain")
            plan = (str(size), str(count), str(warmup), str(interval_ms))
            send = subprocess.run(
                [str(python), script, "send", socks[0], *plan],
                capture_output=True,
                text=True,
                timeout=send_timeout,
                env=env,
            )
            if send.returncode != 0:
                raise FloorError(f"the bare chain's sender failed: {send.stderr.strip()[-300:]}")
            sink.wait(timeout=PAIR_TIMEOUT_ALLOWANCE_S)
            data = json.loads(result.read_text())
            cpu = []
            for relay in relays:
                out, _ = relay.communicate(timeout=PAIR_TIMEOUT_ALLOWANCE_S)
                cpu.append(json.loads(out.splitlines()[-1])["cpu_per_message_s"])
        except (OSError, ValueError, IndexError, KeyError, subprocess.TimeoutExpired) as error:
            raise FloorError(f"the bare chain did not complete: {error}") from None
        finally:
            _end_all(procs)
    if data["corrupt"]:
        raise FloorError(f"the bare chain saw {data['corrupt']} corrupt payload(s)")
    return ChainFloor(data["lat_ns"].get(str(size), []), cpu)


def _wait_ready(
    procs: list[subprocess.Popen[str]], start: float, timeout_s: float, what: str
) -> None:
    """Wait until each process printed ``ready``, at most ``timeout_s`` from ``start``
    (``time.monotonic``); FloorError otherwise."""
    for proc in procs:  # ends when the slowest is ready
        assert proc.stdout is not None
        left = start + timeout_s - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise FloorError(f"{len(procs)} {what} processes took over {timeout_s:.0f} s")
        if proc.stdout.readline().strip() != "ready":
            raise FloorError(f"a {what} process failed to start")


def _end_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    for proc in procs:
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


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
        _wait_ready(procs, start, timeout_s, "bare")  # the slowest has imported pyarrow
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
