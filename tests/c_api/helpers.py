"""What the C API tests share, in one place:

- compiling: the compilers, the warning and sanitizer flags, C++ programs
  (``compile_cxx``) and the C operators of ``operators/`` (``compile_operator``); the
  ``compile_c`` fixture of ``conftest.py`` builds the C nodes of ``nodes/``;
- dataflows: writing them (``write_flow``, ``write_files``) and running them with ``dora
  run``, to the end (``run_flow``, ``run_to_end``) or until the test interrupts it
  (``running``, ``interrupt``); the Python ``SINK`` node and its printed lines; the
  mixed C/Python operator dataflow (``mixed_flow``); what ``cxx/py_sink.py`` received;
- a compiled node driven directly, without ``dora``: ``CNode`` against the fake daemon
  of ``tests/node_api`` (the ``daemon`` fixture), and the data frames another node would
  send it;
- fuzzing: ``mutated`` copies of valid messages.

Real compilers, real processes."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import dora_node_api_c as api
from bench.fake_daemon import FakeDaemon
from dora_message.config import encode_node_config
from dora_message.data_protocol import Data, Hello, data_encoder
from dora_message.dataplane.framing import encode_frame
from dora_message.node_protocol import PROTOCOL_VERSION
from tests.procs import DoraProcess, run_dora

HERE = Path(__file__).parent
NODES = HERE / "nodes"
OPERATORS = HERE / "operators"
CXX_SOURCES = HERE / "cxx"
ROOT = HERE.parents[1]

# --- compiling ---------------------------------------------------------------------

WARNINGS = ("-Wall", "-Wextra", "-Werror")
# What careful C++ projects turn on: the wrapper must not make their builds noisy.
STRICT = (
    *WARNINGS,
    "-Wpedantic",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wshadow",
    "-Wold-style-cast",
    "-Wcast-qual",
)
# AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer, any finding fatal.
SANITIZE = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)


def check_compile(command: Sequence[str]) -> None:
    """Run a compiler command; the command and the compiler's message are the
    assertion's text when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"


def gcc() -> str:
    """The C compiler the operators are built with; skips the test when there is none."""
    found = shutil.which("gcc")
    if not found:
        pytest.skip("no gcc")
    return found


def cxx_compiler() -> str:
    """The system C++ compiler (CXX, else c++ or g++); skips the test when there is none."""
    found = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not found:
        pytest.skip("no C++ compiler")
    return found


def compile_cxx(
    sources: Sequence[Path],
    output: Path,
    *,
    std: str = "c++17",
    library: api.LibraryKind | None = "node",
    shared: bool = False,
    sanitize: bool = False,
) -> Path:
    """Compile and link ``sources`` into ``output`` with warnings as errors. ``sanitize``:
    ``SANITIZE``, any finding ending the program non-zero."""
    command = [cxx_compiler(), f"-std={std}", *WARNINGS, "-O1", "-g", *api.cflags()]
    if sanitize:
        command += SANITIZE
    if shared:
        command += ["-shared", "-fPIC"]
    command += ["-o", str(output), *map(str, sources)]
    if library is not None:
        command += api.libs(library)
    check_compile(command)
    return output


def compile_operator(name: str, directory: Path, *, link: bool = True) -> Path:
    """``operators/<name>.c`` as ``directory/build/lib<name>.so`` (so ``shared-library:
    build/<name>`` finds it). ``link=False`` builds it as dora-rs builds its C operators:
    ``-shared`` without the helper library, whose functions the runtime then provides."""
    build = directory / "build"
    build.mkdir(parents=True, exist_ok=True)
    output = build / f"lib{name}.so"
    command = [gcc(), *WARNINGS, "-O1", "-g", "-shared", "-fPIC", *api.cflags()]
    command += ["-o", str(output), str(OPERATORS / f"{name}.c")]
    if link:
        command += api.libs("operator")
    check_compile(command)
    return output


# --- dataflows ---------------------------------------------------------------------

# A Python node printing what it receives, one line per event:
# `sink: <input> <text>` (UInt8 payloads as text, other arrays as Python lists).
SINK = """from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        value = event["value"]
        if str(value.type) == "uint8":
            shown = bytes(value.to_pylist()).decode()
        else:
            shown = value.to_pylist()
        print(f"sink: {event['id']} {shown}", flush=True)
    else:
        print(f"sink: event {event['type']} {event.get('id')}", flush=True)
"""


def sink_lines(lines: list[str], input_id: str) -> list[str]:
    """The payloads the sink printed for ``input_id``, in order."""
    marker = f"sink: {input_id} "
    return [line.split(marker, 1)[1] for line in lines if marker in line]


def write_files(directory: Path, files: dict[str, str]) -> None:
    """Write ``{name: text}`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)


def write_flow(directory: Path, text: str, copies: Sequence[Path] = ()) -> Path:
    """``text`` as ``directory/dataflow.yml``, with a copy of each file of ``copies`` (the
    Python nodes it names) next to it; the dataflow's path."""
    for source in copies:
        shutil.copy(source, directory / source.name)
    flow = directory / "dataflow.yml"
    flow.write_text(text)
    return flow


MIXED_FLOW = """nodes:
  - id: rt
    operators:
      - id: c
        shared-library: build/relay
        inputs:
          tick: dora/timer/millis/50
          text: rt/py/words
        outputs: [ticks, echo]
      - id: py
        python: py_op.py
        inputs:
          tick: dora/timer/millis/70
          ticks: rt/c/ticks
        outputs: [words, seen]
  - id: sink
    path: sink.py
    inputs:
      ticks: rt/c/ticks
      echo: rt/c/echo
      words: rt/py/words
      seen: rt/py/seen
"""


def mixed_flow(directory: Path) -> Path:
    """``MIXED_FLOW``: runtime node ``rt`` with C operator ``c`` (``operators/relay.c``) and
    Python operator ``py`` (``operators/py_op.py``) talking to each other, and the ``SINK``
    reading all four of their outputs; compiled and written under ``directory``."""
    compile_operator("relay", directory)
    write_files(
        directory,
        {
            "flow.yml": MIXED_FLOW,
            "sink.py": SINK,
            "py_op.py": (OPERATORS / "py_op.py").read_text(),
        },
    )
    return directory / "flow.yml"


def py_sink_summary(output: str) -> list[dict]:
    """What ``cxx/py_sink.py`` received, from the summary line it prints at its end."""
    line = next(ln for ln in output.splitlines() if "py_sink: summary " in ln)
    return json.loads(line.split("py_sink: summary ", 1)[1])


def dora_env() -> dict[str, str]:
    """The environment for ``dora`` commands: ``dora`` itself (for ``build:`` lines calling
    ``dora c-api``) is on PATH, next to the interpreter running the tests."""
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def run_flow(
    flow: Path | str,
    *args: str,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """``dora run flow [args]`` to its end: its exit code and what it printed (the CLI's and
    the nodes' lines, both streams)."""
    result = run_dora(["run", str(flow), *args], cwd=cwd, timeout=timeout, env=env)
    return result.returncode, result.stdout + result.stderr


@contextlib.contextmanager
def running(flow: Path) -> Iterator[DoraProcess]:
    """``dora run flow`` in the dataflow's directory, its lines awaitable; the command and
    everything it started killed on the way out."""
    dora = DoraProcess(["run", str(flow)], cwd=flow.parent)
    try:
        yield dora
    finally:
        dora.kill_tree()


def run_to_end(flow: Path, timeout: float = 60) -> tuple[int, DoraProcess]:
    """``dora run flow`` until it ends by itself: its exit code, and the process with its
    ``lines`` and ``output``."""
    with running(flow) as dora:
        return dora.wait(timeout=timeout), dora


def interrupt(dora: DoraProcess, timeout: float = 30) -> int:
    """Ctrl-C, as a user stops ``dora run``: its exit code once it ended."""
    dora.proc.send_signal(signal.SIGINT)
    return dora.wait(timeout=timeout)


# --- a compiled node against the fake daemon ------------------------------------------


class CNode:
    """A compiled node process whose stdout lines can be awaited; as a context manager,
    killed on the way out."""

    def __init__(self, binary: Path, config: object | None, **extra_env: str) -> None:
        env = dict(os.environ)
        env.update(extra_env)
        env.pop("DORA_NODE_CONFIG", None)
        if config is not None:
            env["DORA_NODE_CONFIG"] = encode_node_config(config)  # type: ignore[arg-type]
        self.proc = subprocess.Popen(
            [str(binary)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
            text=True,
            errors="replace",  # nodes may print received bytes
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def __enter__(self) -> CNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line with {needle!r}; got:\n" + "\n".join(self.seen))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"exited before {needle!r}; got:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if needle in line:
                return line

    def go(self) -> None:
        """Answer a node waiting on stdin (WATCH_WAIT_STDIN)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@contextlib.contextmanager
def running_watch(daemon: FakeDaemon, binary: Path, config: object, **env: str) -> Iterator[CNode]:
    """``nodes/c_watch.c`` (compiled as ``binary``) started with ``config``, once it printed
    ``watch: ready`` and subscribed to ``daemon``; killed on the way out."""
    with CNode(binary, config, **env) as node:
        node.expect("watch: ready")
        daemon.wait_subscribed()
        yield node


def topology(daemon: FakeDaemon) -> dict[str, object]:
    """Node ``c`` reading ``in`` from Python node ``py`` and a 10 ms timer ``tick``."""
    return daemon.configs(  # type: ignore[return-value]
        {
            "py": {"outputs": ["out"]},
            "c": {"inputs": {"in": "py/out", "tick": "dora/timer/millis/10"}, "outputs": ["out"]},
        }
    )


def send_frame(address: str, *frames: bytes) -> socket.socket:
    """A new connection to a node's data socket, ``frames`` sent on it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    for frame in frames:
        sock.sendall(frame)
    return sock


def hello_frame(daemon: FakeDaemon, sender: str = "py") -> bytes:
    """The hello that opens a data connection from node ``sender`` of the daemon's
    dataflow."""
    token = daemon.token_for(sender)  # dora-py-2: the receiver checks the link token
    return encode_frame(data_encoder, Hello(daemon.dataflow_id, sender, PROTOCOL_VERSION, token))


def raw_frame(payload: bytes, **params: object) -> bytes:
    """A message of bytes on output ``out``, stamped now, with metadata ``params``."""
    return encode_frame(
        data_encoder, Data("out", time.time_ns(), dict(params), "raw", inline=payload)
    )


def mutated(rng: random.Random, seeds: list[bytes], *, flips: int, cut: float, keep: int) -> bytes:
    """One of ``seeds`` with 1 to ``flips`` random bytes overwritten and, with probability
    ``cut``, cut short (at least ``keep`` bytes left)."""
    data = bytearray(rng.choice(seeds))
    for _flip in range(rng.randint(1, flips)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < cut:
        del data[rng.randrange(keep, len(data)) :]
    return bytes(data)
