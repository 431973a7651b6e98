"""Where the release check works: a temp dir outside the workspace, venvs made from the
built wheels, and commands run there with an environment that cannot see the workspace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from release_check.distributions import Distribution

# Variables that would let a command see the workspace, or another venv, or the test run.
_DROPPED = {
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
    "UV_RUN_RECURSION_DEPTH",  # set by `uv run pytest` in CI
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "CONDA_PREFIX",
    "UV_PROJECT_ENVIRONMENT",
    "UV_FIND_LINKS",
    "UV_PYTHON",
    "UV_NO_SYNC",
    "UV_FROZEN",
    "UV_LOCKED",
}
_DROPPED_PREFIXES = ("DORA_", "PYTEST_")
OUTPUT_TAIL = 40  # lines of a failed command shown


class CheckFailed(Exception):
    """A check did not pass; the message says what, without a traceback."""


@dataclass
class Context:
    """What the steps share: the built distributions and the venvs made so far."""

    repo: Path
    temp: Path
    dist: Path  # the built wheels and sdists (given to installers as --find-links)
    python: str  # the base interpreter venvs are made from
    distributions: list[Distribution]
    cli: Distribution  # the one that installs `dora`
    uv_cache: str
    venvs: dict[str, Path] = field(default_factory=dict)
    verbose: bool = False

    def env(self, venv: Path | None = None) -> dict[str, str]:
        """A clean environment: no workspace on PATH or sys.path, our wheels findable."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
        }
        paths = [
            p
            for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
            if p and not _inside(Path(p), self.repo)
        ]
        if venv is not None:
            paths.insert(0, str(venv / "bin"))
        env["PATH"] = os.pathsep.join(paths)
        env["UV_FIND_LINKS"] = str(self.dist)
        env["PIP_FIND_LINKS"] = " ".join(filter(None, [env.get("PIP_FIND_LINKS"), str(self.dist)]))
        env["UV_PYTHON"] = self.python
        env["UV_PYTHON_DOWNLOADS"] = "never"
        env["UV_CACHE_DIR"] = self.uv_cache
        # per-user caches (dora c-api's compiled C library) start empty, like a new user's
        env["XDG_CACHE_HOME"] = str(self.temp / "cache")
        env["NO_COLOR"] = "1"
        return env

    def run(
        self,
        argv: list[str],
        *,
        cwd: Path,
        what: str,
        venv: Path | None = None,
        timeout: float = 300,
    ) -> str:
        """Run ``argv``; its combined output, or :class:`CheckFailed` naming ``what``."""
        if self.verbose:
            print(f"  $ {' '.join(argv)}  (in {cwd})", flush=True)
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env(venv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so a timeout can end everything it started
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            raise CheckFailed(f"{what}: timed out after {timeout:.0f} s\n{_tail(output)}") from None
        if process.returncode != 0:
            raise CheckFailed(f"{what}: exit code {process.returncode}\n{_tail(output)}")
        return output

    def shell(self, script: str, *, cwd: Path, what: str, venv: Path | None = None) -> str:
        """Run a bash script as a user would type it (stops at the first failing line)."""
        return self.run(
            ["bash", "-c", "set -euo pipefail -x\n" + script], cwd=cwd, what=what, venv=venv
        )

    def venv(self, key: str, requirements: list[str]) -> Path:
        """A venv (made once per ``key``) holding ``requirements``, resolved with our wheels
        found first-hand in :attr:`dist` and everything else from the index."""
        if key in self.venvs:
            return self.venvs[key]
        where = self.temp / "venvs" / key
        self.run(
            ["uv", "venv", "-q", "--python", self.python, str(where)],
            cwd=self.temp,
            what=f"venv {key}: uv venv",
        )
        self.run(
            [
                "uv",
                "pip",
                "install",
                "-q",
                "--python",
                str(where / "bin" / "python"),
                "--find-links",
                str(self.dist),
                *requirements,
            ],
            cwd=self.temp,
            what=f"venv {key}: install {' '.join(requirements)}",
        )
        self.venvs[key] = where
        return where

    def installed(self, venv: Path) -> dict[str, str]:
        """``{normalized name: file of its metadata}`` of our distributions in ``venv``."""
        script = (
            "import importlib.metadata as m, json, re\n"
            "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): "
            "str(d.locate_file('')) for d in m.distributions()}))"
        )
        output = self.run(
            [str(venv / "bin" / "python"), "-c", script],
            cwd=self.temp,
            what=f"list the distributions in {venv.name}",
        )
        everything: dict[str, str] = json.loads(output.strip().splitlines()[-1])
        ours = {d.normalized for d in self.distributions}
        return {name: place for name, place in everything.items() if name in ours}


def base_python() -> str:
    """The interpreter this one was made from (a venv's is only a link to it)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _tail(output: str) -> str:
    lines = output.rstrip().splitlines()[-OUTPUT_TAIL:]
    return "\n".join(f"    | {line}" for line in lines)
