"""``dora build``: run the ``build:`` commands of every node and operator.

The plan (:func:`plan_build`) is pure: one :class:`BuildStep` per non-empty line of every
``build:`` string, in descriptor order (a node's own build first, then its operators'),
each with its working dir and complete environment. :func:`build_dataflow` runs the steps
one after the other with ``sh -c`` and stops at the first failure.

* Lines: blank lines and ``#`` comments are skipped; a line ending in ``\\`` continues on
  the next one.
* Working dir: ``base_dir`` (the dataflow's directory), or ``working_dirs[node_id]`` for
  nodes whose sources were fetched (git clones: the build runs from the repository root).
* Environment: the caller's environment, then the descriptor's global ``env``, then the
  node's ``env`` (node wins). Booleans become ``true``/``false``; ``{__dora_env: VAR}``
  takes ``VAR`` from the caller's environment (unset: the key is left out, with a warning).
  Last, the scripts directory of dora's own Python environment is appended to ``PATH``, so
  ``dora c-api`` in a build line works however ``dora`` was started.
* ``uv=True`` (``--uv``) rewrites ``pip``/``pip3``/``python -m pip`` ``install`` and
  ``uninstall`` lines to ``uv pip ...`` and checks that ``uv`` is on ``PATH`` before
  anything runs. It does nothing else at build time: uv then installs into the
  environment it discovers (``VIRTUAL_ENV``, else a ``.venv`` in the working dir or a
  parent). Mainline's newer per-node venvs (``<wd>/.dora/python-envs/<node>/``) are not
  created: such a venv would lack this implementation's ``dora`` package that every Python
  node imports. At run time ``--uv`` means ``.py`` nodes start with ``uv run python``
  (spawner's business).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sysconfig
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dora_daemon.errors import DaemonError
from dora_message.descriptor import Descriptor, EnvValue, HostEnv, Node

log = logging.getLogger(__name__)

OUTPUT_TAIL_LINES = 20
"""How many of the last output lines a :class:`BuildError` keeps."""

_MAX_LINE_BYTES = 1024 * 1024
_PIP_LINE = re.compile(r"^(?:pip3?|python3?\s+-m\s+pip)\s+(?=(?:install|uninstall)\b)")


class BuildError(DaemonError):
    """A build command failed (or could not be started).

    Attributes:
        node_id: the node whose build failed.
        operator_id: the operator, when the failing ``build:`` is an operator's.
        command: the shell line as it ran (after the ``--uv`` rewrite).
        exit_code: the exit code, negative for a signal, None when it did not start.
        output_tail: the last lines of its output (stdout and stderr interleaved).
    """

    def __init__(
        self,
        node_id: str,
        command: str,
        exit_code: int | None,
        output_tail: list[str],
        *,
        operator_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.operator_id = operator_id
        self.command = command
        self.exit_code = exit_code
        self.output_tail = output_tail
        who = f"node `{node_id}`" + (f" (operator `{operator_id}`)" if operator_id else "")
        if reason is None:
            if exit_code is not None and exit_code < 0:
                reason = f"was killed by signal {-exit_code}"
            else:
                reason = f"exited with code {exit_code}"
        text = f"build of {who} failed: `{command}` {reason}"
        if output_tail:
            text += "\nlast output:\n" + "\n".join(f"  {line}" for line in output_tail)
        super().__init__(text)


@dataclass(frozen=True)
class BuildStep:
    """One shell line to run for one node."""

    node_id: str
    command: str
    cwd: Path
    env: dict[str, str] = field(repr=False)
    operator_id: str | None = None


def env_value_text(value: EnvValue) -> str | None:
    """An ``env:`` value as the child sees it (None: a host variable that is not set)."""
    if isinstance(value, HostEnv):
        return os.environ.get(value.dora_env)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # like the reference: 1.0 is passed as "1"
    return str(value)


def node_environment(
    descriptor: Descriptor, node: Node, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: ``os.environ``) with the global, then the node's ``env`` on top."""
    env = dict(os.environ if base is None else base)
    for layer in (descriptor.env or {}, node.env or {}):
        for key, value in layer.items():
            text = env_value_text(value)
            if text is None:
                log.warning("node %s: env %s: host variable is not set, left out", node.id, key)
                continue
            env[key] = text
    return env


def build_lines(build: str) -> list[str]:
    """The commands of a ``build:`` string: one per line, continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in build.splitlines():
        line = raw.strip()
        if pending:
            line = f"{pending} {line}".strip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if line and not line.startswith("#"):
            lines.append(line)
    if pending:
        lines.append(pending)
    return lines


def uv_rewrite(command: str) -> str:
    """``pip install x`` -> ``uv pip install x`` (also ``pip3``, ``python -m pip``, uninstall)."""
    return _PIP_LINE.sub("uv pip ", command, count=1)


def plan_build(
    descriptor: Descriptor,
    base_dir: Path,
    *,
    uv: bool = False,
    working_dirs: Mapping[str, Path] | None = None,
) -> list[BuildStep]:
    """Every build command of the dataflow, in the order they will run."""
    steps: list[BuildStep] = []
    for node in descriptor.nodes:
        builds: list[tuple[str | None, str]] = []
        if node.build:
            builds.append((None, node.build))
        operators = [node.operator] if node.operator else list(node.operators or [])
        for operator in operators:
            if operator.build:
                builds.append((operator.id or "op", operator.build))
        if not builds:
            continue
        cwd = Path((working_dirs or {}).get(node.id, base_dir))
        env = _with_own_scripts_on_path(node_environment(descriptor, node))
        for operator_id, build in builds:
            for line in build_lines(build):
                command = uv_rewrite(line) if uv else line
                steps.append(BuildStep(node.id, command, cwd, env, operator_id))
    return steps


def _with_own_scripts_on_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the scripts directory of this Python environment (where ``dora`` is) at
    the end of ``PATH``: build lines can call ``dora`` (``$(dora c-api --cflags --libs)``)
    even when dora was started by its full path, and whatever is on ``PATH`` still wins."""
    scripts = sysconfig.get_path("scripts")
    parts = [part for part in env.get("PATH", "").split(os.pathsep) if part]
    if scripts and scripts not in parts:
        env["PATH"] = os.pathsep.join([*parts, scripts])
    return env


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Stop a build command and everything it started (it leads its own session)."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(proc.wait(), wait)
            return
        except TimeoutError:
            continue


async def run_build_step(
    step: BuildStep, on_output: Callable[[str, str], None] | None = None
) -> None:
    """Run one step with ``sh -c``; raise :class:`BuildError` unless it exits with 0."""
    log.info("building %s: %s (in %s)", step.node_id, step.command, step.cwd)
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    try:
        proc = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            step.command,
            cwd=step.cwd,
            env=step.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as err:
        raise BuildError(
            step.node_id,
            step.command,
            None,
            [],
            operator_id=step.operator_id,
            reason=f"could not start in `{step.cwd}`: {err}",
        ) from err

    def emit(raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        tail.append(line)
        if on_output is not None:
            on_output(step.node_id, line)

    assert proc.stdout is not None
    pending = b""
    try:
        while chunk := await proc.stdout.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                emit(line)
            if len(pending) > _MAX_LINE_BYTES:  # output without newlines: show it anyway
                emit(pending)
                pending = b""
        if pending:
            emit(pending)
        code = await proc.wait()
    except BaseException:
        await _kill_group(proc)
        raise
    if code != 0:
        raise BuildError(step.node_id, step.command, code, list(tail), operator_id=step.operator_id)


async def build_dataflow(
    descriptor: Descriptor,
    base_dir: Path,
    *,
    uv: bool = False,
    working_dirs: dict[str, Path] | None = None,
    on_output: Callable[[str, str], None] | None = None,
) -> None:
    """Run every build command of the dataflow; the first failure raises :class:`BuildError`.

    ``on_output(node_id, line)`` receives each output line as it comes.
    """
    steps = plan_build(descriptor, base_dir, uv=uv, working_dirs=working_dirs)
    if uv:
        for step in steps:
            uv_found = shutil.which("uv", path=step.env.get("PATH")) is not None
            if step.command.startswith("uv ") and not uv_found:
                raise BuildError(
                    step.node_id,
                    step.command,
                    None,
                    [],
                    operator_id=step.operator_id,
                    reason="needs `uv`, which is not on PATH (install uv or build without --uv)",
                )
    for step in steps:
        await run_build_step(step, on_output)
