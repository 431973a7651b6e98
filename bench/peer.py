"""The two systems under test: our ``dora`` CLI and the Rust dora 1.1.0 peer.

The peer lives in its own venv under the benchmark cache (``$DORA_BENCH_CACHE``, default
``~/.cache/dora-bench``) and is installed there with uv the first time it is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PEER_PACKAGES = ("dora-rs-cli==1.1.0", "dora-rs==1.1.0", "pyarrow")
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class System:
    """One implementation of ``dora``: how to call its CLI and with which environment."""

    name: str
    cli: Path
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [str(self.cli), *args]


def cache_dir() -> Path:
    """Where the peer venv is kept."""
    return Path(os.environ.get("DORA_BENCH_CACHE", Path.home() / ".cache" / "dora-bench"))


def peer_dir() -> Path:
    return cache_dir() / "peer"


def peer_installed(venv: Path | None = None) -> bool:
    venv = venv or peer_dir()
    return (venv / "bin" / "dora").exists() and (venv / "bin" / "python").exists()


def _venv_env(venv: Path) -> dict[str, str]:
    """Environment that makes ``venv`` the active one, so nodes use its ``dora`` package."""
    # PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every Python process of
    # both systems recompile its sources at start: measure what users get, with bytecode
    dropped = ("PYTHONHOME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


def ensure_peer() -> Path:
    """Install the peer venv if it is missing; return its directory."""
    venv = peer_dir()
    if peer_installed(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    print(f"installing the peer (dora-rs 1.1.0) into {venv} ...", file=sys.stderr, flush=True)
    subprocess.run(["uv", "venv", str(venv), "--python", sys.executable], check=True, env=env)
    subprocess.run(
        ["uv", "pip", "install", *PEER_PACKAGES],
        check=True,
        env={**env, "VIRTUAL_ENV": str(venv)},
    )
    if not peer_installed(venv):
        raise RuntimeError(f"peer install finished but {venv}/bin/dora is missing")
    return venv


def peer_system(venv: Path | None = None) -> System:
    venv = venv or ensure_peer()
    return System("peer", venv / "bin" / "dora", _venv_env(venv))


def ours_system(cli: Path | None = None) -> System:
    """Our CLI from the workspace venv; its nodes run with that venv's interpreter."""
    cli = cli or REPO_ROOT / ".venv" / "bin" / "dora"
    venv = cli.parent.parent
    return System("ours", cli, _venv_env(venv))
