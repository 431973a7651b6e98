"""Spawning a node when the set-up between fork and exec goes wrong (issue 13 item 8)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dora_daemon import spawn


def _node(tmp_path: Path, cpu_affinity: tuple[int, ...] | None) -> Any:
    script = "import os; print(sorted(os.sched_getaffinity(0)))"
    return SimpleNamespace(
        id="n",
        argv=(sys.executable, "-c", script),
        cwd=tmp_path,
        env=dict(os.environ),
        cpu_affinity=cpu_affinity,
    )


async def _run(node: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    process = await spawn.spawn_node(node, lambda _stream, line: lines.append(line))
    code = await process.wait()
    return code, lines


@pytest.mark.timeout(60)
def test_cores_beyond_cpu_setsize_are_skipped(tmp_path: Path) -> None:
    core = min(os.sched_getaffinity(0))  # one this test may use
    code, lines = asyncio.run(_run(_node(tmp_path, (99999999999999999999, 5000, core))))
    assert code == 0
    assert lines == [f"[{core}]"]


@pytest.mark.timeout(60)
def test_a_failing_child_setup_is_an_os_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(parent_pid: int, cpu_affinity: tuple[int, ...] | None) -> Any:
        def setup() -> None:
            raise OverflowError("Python int too large to convert to C long")

        return setup

    monkeypatch.setattr(spawn, "_child_setup", broken)
    with pytest.raises(OSError, match="could not be set up"):
        asyncio.run(_run(_node(tmp_path, None)))
