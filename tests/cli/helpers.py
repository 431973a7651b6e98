"""What this folder's tests share: the ticker -> listener flow, pointing `dora` at a
coordinator, starting `dora coordinator` and `dora daemon`, and reading what `dora start`
printed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.coordinator.helpers import Proc

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


def dora_coordinator(procs: list[Proc], *args: str, env: dict[str, str] | None = None) -> int:
    """``dora coordinator --port 0 ...``; the port it printed."""
    proc = Proc("dora_cli", ["coordinator", "--port", "0", *args], env=env)
    procs.append(proc)  # killed even if the wait below fails
    line = proc.wait_for_line("dora-coordinator listening on")
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)$", line)
    assert match, line
    return int(match.group(1))


def dora_daemon(
    procs: list[Proc], port: int, *args: str, env: dict[str, str] | None = None
) -> tuple[Proc, str]:
    """``dora daemon`` toward ``port``; the process and the id it registered as."""
    proc = Proc("dora_cli", ["daemon", "--coordinator-port", str(port), *args], env=env)
    procs.append(proc)
    line = proc.wait_for_line("registered with the coordinator as")
    return proc, line.rsplit(" ", 1)[1]
