"""Helpers for fault-tolerance tests: flows from the test nodes, parsing node lines."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import psutil

from tests.procs import DoraProcess

NODES = Path(__file__).parent / "nodes"


def write_flow(directory: Path, text: str, name: str = "flow.yml") -> Path:
    """``text`` as a dataflow beside a copy of the test nodes (``nodes/<x>.py``)."""
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "nodes").exists():
        shutil.copytree(NODES, directory / "nodes")
    path = directory / name
    path.write_text(text)
    return path


def field(line: str, name: str) -> str:
    """The value of ``name=value`` in a node's output line."""
    match = re.search(rf"\b{re.escape(name)}=(\S+)", line)
    if match is None:
        raise AssertionError(f"no {name}= in {line!r}")
    return match.group(1)


def stamp(line: str) -> float:
    """The ``t=<unix time>`` of a node's output line."""
    return float(field(line, "t"))


def dataflow_ids(base: Path) -> list[str]:
    """Dataflow UUIDs that wrote logs under ``base/out``."""
    out = base / "out"
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and every descendant of it."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def seen_or_wait(proc: DoraProcess, needle: str, timeout: float = 30.0) -> str:
    """The first line containing ``needle``, already read or still to come."""
    for line in proc.lines:
        if needle in line:
            return line
    return proc.wait_for_line(needle, timeout)


def _dead(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_dead(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process exited (a zombie counts: it runs nothing any more, and
    init may take its time to reap an orphan); return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if not _dead(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.01)
