"""`dora logs --since/--until/--level` over a running dataflow's real log lines, through a
coordinator and a daemon (and `--local` over the same files)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from dora_message.log_filter import parse_timestamp
from tests.cli.helpers import dora_coordinator, dora_daemon, env_for, started_uuid
from tests.coordinator.helpers import Proc, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration

GAP = 4.0  # seconds between the early lines and the first tick; the window is 2 s

CHATTY = """\
from pathlib import Path

from dora import Node

node = Node()
node.log_error("early error")
node.log_warn("early warn")
node.log_info("early info")
print("early stdout", flush=True)
ticks = 0
for event in node:
    if event["type"] == "INPUT" and Path("go").exists():
        node.log_info(f"tick {ticks}")
        ticks += 1
"""


def records(args: list[str], env: dict[str, str], cwd: Path) -> list[dict[str, Any]]:
    """`dora logs ... --log-format json`: the records, in order."""
    result = run_dora(["logs", *args, "--log-format", "json"], env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def messages(rows: list[dict[str, Any]]) -> list[str]:
    return [row["message"] for row in rows]


def moment(row: dict[str, Any]) -> float:
    seconds = parse_timestamp(row["timestamp"])
    assert seconds is not None, row
    return seconds


@pytest.mark.timeout(180)
def test_logs_filter_real_lines_by_time_and_level(tmp_path: Path, procs: list[Proc]) -> None:
    port = dora_coordinator(procs)
    dora_daemon(procs, port)
    env = env_for(port)
    (tmp_path / "chatty.py").write_text(CHATTY)
    flow = tmp_path / "flow.yml"
    flow.write_text(
        "nodes:\n  - id: chatty\n    path: chatty.py\n"
        "    inputs:\n      tick: dora/timer/millis/100\n"
    )
    uuid = started_uuid(
        run_dora(["start", str(flow), "--detach", "--name", "chatty"], env=env, cwd=tmp_path)
    )
    try:
        early = wait_until(
            lambda: len(rows := records(["chatty"], env, tmp_path)) == 4 and rows,
            timeout=60,
            what="the four early lines",
        )
        assert [(r["level"].lower(), r["message"]) for r in early] == [
            ("error", "early error"),
            ("warn", "early warn"),
            ("info", "early info"),
            ("stdout", "early stdout"),
        ]

        # --level: a minimum, stdout (raw output) only at the stdout level
        assert messages(records(["chatty", "--level", "error"], env, tmp_path)) == ["early error"]
        assert messages(records(["chatty", "--level", "warn"], env, tmp_path)) == [
            "early error",
            "early warn",
        ]
        assert messages(records(["chatty", "--level", "info"], env, tmp_path)) == [
            "early error",
            "early warn",
            "early info",
        ]
        assert messages(records(["chatty", "--level", "stdout"], env, tmp_path)) == (
            messages(early)
        )

        # ticks start GAP seconds after the last early line (the gap is the behaviour
        # under test: a time window needs lines apart in time)
        last_early = max(moment(r) for r in early)
        wait_until(lambda: time.time() > last_early + GAP, timeout=GAP + 5, what="the gap")
        (tmp_path / "go").touch()
        wait_until(
            lambda: any(m.startswith("tick 5") for m in messages(records([], env, tmp_path))),
            timeout=60,
            what="ticks",
        )

        # --since 2s: only lines of the last 2 s before the command ran; no early line
        def since_2s() -> tuple[float, list[dict[str, Any]]] | None:
            before = time.time()
            rows = records(["chatty", "--since", "2s"], env, tmp_path)
            return (before, rows) if rows else None  # empty only if the node stalled

        before, recent = wait_until(since_2s, timeout=60, what="ticks of the last 2 s")
        assert all(m.startswith("tick ") for m in messages(recent)), messages(recent)
        assert all(moment(r) >= before - 2 for r in recent)

        # --until 2s: only lines older than 2 s: every early line, no tick of the last 2 s
        older = records(["chatty", "--until", "2s"], env, tmp_path)
        after = time.time()
        assert messages(older)[:4] == messages(early)
        assert all(m.startswith("tick ") for m in messages(older)[4:])
        assert all(moment(r) <= after - 2 for r in older)
        newer = wait_until(
            lambda: [r for r in records(["chatty"], env, tmp_path) if moment(r) > after - 2],
            timeout=60,
            what="ticks newer than the window",
        )
        assert not set(messages(newer)) & set(messages(older))

        # combined: --since and --until bound a window, --level on top
        window = records(
            ["chatty", "--since", "1h", "--until", "2s", "--level", "warn"], env, tmp_path
        )
        assert messages(window) == ["early error", "early warn"]
        assert records(["chatty", "--since", "1s", "--level", "warn"], env, tmp_path) == []
    finally:
        run_dora(["stop", uuid, "--force"], env=env)

    # the same filters over ./out/ without a coordinator
    local = records(["--local", uuid, "--until", "2s", "--level", "warn"], {}, tmp_path)
    assert messages(local) == ["early error", "early warn"]
    local = messages(records(["--local", uuid, "--level", "info"], {}, tmp_path))
    assert local[:3] == ["early error", "early warn", "early info"]
    assert "early stdout" not in local and all(m.startswith("tick ") for m in local[3:])
