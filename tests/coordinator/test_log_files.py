"""Reading log files back (`dora logs --local`, and the daemon's answer to `dora logs`)."""

from __future__ import annotations

import os
from pathlib import Path

from dora_daemon.log_format import encode_record
from dora_daemon.log_query import latest_dataflow_id, log_node_ids, read_dataflow_logs
from dora_message.cli_to_coordinator import LogQuery
from dora_message.common import LogMessage
from dora_message.log_filter import format_timestamp
from tests.procs import run_dora


def write(path: Path, *records: tuple[float, str, str]) -> None:
    node = path.name.removeprefix("log_").split(".jsonl")[0]
    node = node if node == "b.1" else node.split(".")[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        encode_record(
            LogMessage(timestamp=format_timestamp(ts), level=level, message=msg, node_id=node)
        )
        for ts, level, msg in records
    ]
    path.write_text("\n".join(lines) + "\nnot a record\n{torn")


def make_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    df = out / "df-1"
    write(df / "log_a.2.jsonl", (1.0, "info", "a1"))
    write(df / "log_a.1.jsonl", (3.0, "error", "a3"))
    write(df / "log_a.jsonl", (5.0, "info", "a5"))
    write(df / "log_b.1.jsonl", (2.0, "warn", "b.1-2"))  # node `b.1`: there is no log_b.jsonl
    write(df / "log_c.jsonl", (4.0, "error", "c4"))
    return out


def test_node_ids_and_merge_in_time_order(tmp_path: Path) -> None:
    out = make_out(tmp_path)
    assert log_node_ids(out, "df-1") == ["a", "b.1", "c"]
    records = read_dataflow_logs(out, "df-1", LogQuery())
    assert [r.message for r in records] == ["a1", "b.1-2", "a3", "c4", "a5"]
    errors = read_dataflow_logs(out, "df-1", LogQuery(level="error", tail=1))
    assert [r.message for r in errors] == ["c4"]
    only_a = read_dataflow_logs(out, "df-1", LogQuery(nodes=["a"], tail=2))
    assert [r.message for r in only_a] == ["a3", "a5"]
    assert read_dataflow_logs(out, "missing", LogQuery()) == []


def test_latest_dataflow_dir(tmp_path: Path) -> None:
    out = make_out(tmp_path)
    assert latest_dataflow_id(tmp_path / "nothing") is None
    (out / "df-0").mkdir()
    os.utime(out / "df-0", (1, 1))
    assert latest_dataflow_id(out) == "df-1"


def test_dora_logs_local_needs_no_coordinator(tmp_path: Path) -> None:
    make_out(tmp_path)
    env = {"DORA_COORDINATOR_PORT": "1"}
    by_node = run_dora(["logs", "--local", "a", "--log-format", "compact"], cwd=tmp_path, env=env)
    assert by_node.returncode == 0, by_node.stderr
    shown = [line.split(": ", 1)[1] for line in by_node.stdout.splitlines()]  # `... a: a1`
    assert shown == ["a1", "a3", "a5"], by_node.stdout
    grep = run_dora(
        ["logs", "--local", "df-1", "--all-nodes", "--grep", "C4"], cwd=tmp_path, env=env
    )
    assert "c4" in grep.stdout and "a5" not in grep.stdout
    # no coordinator at all: `dora logs` falls back to ./out/ and says so
    fallback = run_dora(["logs", "--tail", "1"], cwd=tmp_path, env=env)
    assert fallback.returncode == 0, fallback.stderr
    assert "reading ./out/" in fallback.stderr
    assert fallback.stdout.strip().endswith("a5")
