"""Listing commands in JSON (issue 15 item 7): `dora list --format json` gives memory in
bytes with the table's figure, `dora trace list --format json` gives one object per trace,
and every listing command offers `--format table|json`.

Against a real coordinator and daemon (the `coordinated` fixture, as `dora up` starts
them) and a dataflow started with `dora start`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dora_cli.commands.list import memory_text
from dora_daemon.service import METRICS_INTERVAL
from tests.cli.helpers import started_uuid, write_flow
from tests.coordinator.helpers import wait_until
from tests.procs import run_dora

MIB = 1024 * 1024


def table_memory(env: dict[str, str], uuid: str) -> str | None:
    """The Memory cell of the dataflow's row in `dora list`."""
    result = run_dora(["list"], env=env)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines()[1:]:
        if line.startswith(uuid):
            return " ".join(line.split()[-2:])  # `48 MB`: the last column, number and unit
    return None


def json_row(env: dict[str, str], uuid: str) -> dict[str, object]:
    result = run_dora(["list", "--format", "json"], env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return next(row for row in rows if row["uuid"] == uuid)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_list_json_gives_memory_in_bytes_as_the_table_shows_it(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "mem"], env=env))
    try:

        def settled() -> tuple[str, dict[str, object]] | None:
            """The table's figure and the JSON row read between two equal tables."""
            began = time.monotonic()
            before = table_memory(env, uuid)
            row = json_row(env, uuid)
            after = table_memory(env, uuid)
            # shorter than the daemon's report interval: at most one report came in between,
            # so equal tables mean the JSON row shows that same figure
            quick = time.monotonic() - began < METRICS_INTERVAL
            if before is None or before != after or before == "0.0 MB" or not quick:
                return None
            return before, row

        shown, row = wait_until(settled, timeout=60, what="a settled memory figure")
        memory_bytes = row["memory_bytes"]
        assert isinstance(memory_bytes, int) and memory_bytes > 0, row
        assert memory_text(memory_bytes / MIB) == shown, (row, shown)
        assert row["memory"] == round(memory_bytes / MIB / 1024, 3)  # dora-rs's GB figure
        assert row["name"] == "mem" and row["nodes"] == 2
    finally:
        run_dora(["stop", uuid, "--force"], env=env)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_trace_list_json_gives_one_object_per_trace(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    try:
        table = run_dora(["trace", "list"], env=env)
        listed = run_dora(["trace", "list", "--format", "json"], env=env)
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        spawn = next(row for row in rows if row["root_span"] == "spawn_dataflow")
        assert set(spawn) == {"trace_id", "root_span", "spans", "start_time_ms", "duration_us"}
        assert len(str(spawn["trace_id"])) == 36  # the full id, where the table has 12 chars
        assert str(spawn["trace_id"])[:12] in table.stdout
        assert isinstance(spawn["spans"], int) and spawn["spans"] >= 4
        assert isinstance(spawn["duration_us"], int)
        assert abs(int(spawn["start_time_ms"]) / 1000 - time.time()) < 600
        assert [r["start_time_ms"] for r in rows] == sorted(
            (r["start_time_ms"] for r in rows), reverse=True
        )  # newest first, as the table
    finally:
        run_dora(["stop", uuid, "--force"], env=env)


@pytest.mark.parametrize(
    "command",
    [["list"], ["trace", "list"], ["node", "list"], ["topic", "list"], ["param", "list"]],
)
def test_every_listing_command_offers_json(command: list[str]) -> None:
    result = run_dora([*command, "--help"])
    assert result.returncode == 0, result.stderr
    assert "--format [table|json]" in result.stdout, result.stdout
