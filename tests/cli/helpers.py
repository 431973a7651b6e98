"""What this folder's tests share: the ticker -> listener flow, pointing `dora` at a
coordinator, and reading what `dora start` printed."""

from __future__ import annotations

import shutil
from pathlib import Path

FLOWS = Path(__file__).parent / "flows"


def write_flow(
    directory: Path, name: str, deploy: str = "", listener_deploy: str | None = None
) -> Path:
    """ticker -> listener (forever until stopped), optionally pinned to machines."""
    directory.mkdir(parents=True, exist_ok=True)
    for script in ("ticker.py", "listener.py"):
        shutil.copy(FLOWS / script, directory / script)
    path = directory / f"{name}.yml"
    path.write_text(
        f"""nodes:
  - id: ticker
    path: ticker.py
    inputs:
      tick: dora/timer/millis/20
    outputs:
      - count
{deploy}
  - id: listener
    path: listener.py
    inputs:
      count: ticker/count
{deploy if listener_deploy is None else listener_deploy}
"""
    )
    return path


def env_for(port: int, state: Path | None = None) -> dict[str, str]:
    env = {"DORA_COORDINATOR_PORT": str(port)}
    if state is not None:
        env["DORA_STATE_DIR"] = str(state)
    return env


def started_uuid(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "dataflow started:" in line)
    return line.split(":", 1)[1].strip()


def on_machine(machine: str, key: str = "_unstable_deploy") -> str:
    return f"    {key}:\n      machine: {machine}"
