"""`dora param` against a real coordinator (sqlite store), daemon and node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dora_coordinator.store import SqliteStore
from tests.cli.helpers import env_for, started_uuid
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration

NODE = """\
import json, sys
from dora import Node

node = Node()
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"type": "READY"}) + "\\n")
    out.flush()
    for event in node:
        if event["type"] in ("PARAM_UPDATE", "PARAM_DELETED"):
            out.write(json.dumps({k: event.get(k) for k in ("type", "id", "value")}) + "\\n")
            out.flush()
        elif event["type"] == "STOP":
            break
"""


def write_param_flow(directory: Path, events: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tuned.py").write_text(NODE)
    path = directory / "params.yml"
    path.write_text(f"nodes:\n  - id: tuned\n    path: tuned.py\n    args: {events}\n")
    return path


def read_events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_event(path: Path, wanted: dict[str, object]) -> list[dict[str, object]]:
    wait_until(lambda: wanted in read_events(path), what=f"node event {wanted}")
    return read_events(path)


def ok(args: list[str], env: dict[str, str]) -> str:
    result = run_dora(args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def failed(args: list[str], env: dict[str, str]) -> str:
    result = run_dora(args, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.timeout(150)
def test_param_set_get_list_delete_reach_the_node(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    store = tmp_path / "store.db"
    events = tmp_path / "events.jsonl"
    procs.append(coordinator := start_coordinator(0, "--store", f"sqlite:{store}"))
    port = coordinator.port
    env = env_for(port)
    procs.append(start_daemon(port))
    flow = write_param_flow(tmp_path / "flow", events)
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "tune"], env=env))
    try:
        wait_event(events, {"type": "READY"})
        out = ok(["param", "list", "tuned", "-d", "tune"], env)
        assert out == "No parameters set for node `tuned`\n"

        out = ok(["param", "set", "tuned", "threshold", "42", "-d", "tune"], env)
        assert out == "Set `threshold` = 42 on node `tuned`\n"
        wait_event(events, {"type": "PARAM_UPDATE", "id": "threshold", "value": 42})
        config = '{"confidence": 0.8, "labels": ["a", "b"]}'
        ok(["param", "set", "tuned", "config", config, "-d", uuid], env)
        wanted = {"confidence": 0.8, "labels": ["a", "b"]}
        wait_event(events, {"type": "PARAM_UPDATE", "id": "config", "value": wanted})

        assert ok(["param", "get", "tuned", "threshold", "-d", "tune"], env) == "42\n"
        assert json.loads(ok(["param", "get", "tuned", "config", "-d", "tune"], env)) == wanted
        table = ok(["param", "list", "tuned", "-d", "tune"], env)
        assert table.splitlines() == [
            "Parameters for node `tuned`:",
            '  config = {"confidence": 0.8, "labels": ["a", "b"]}',
            "  threshold = 42",
        ]
        listing = ok(["param", "list", "tuned", "-d", "tune", "--format", "json"], env)
        assert json.loads(listing) == {"config": wanted, "threshold": 42}
        assert listing.startswith("{\n  ")  # one pretty-printed document

        out = ok(["param", "delete", "tuned", "threshold", "-d", "tune"], env)
        assert out == "Deleted `threshold` from node `tuned`\n"
        wait_event(events, {"type": "PARAM_DELETED", "id": "threshold", "value": None})

        # errors: one line, exit 1, no traceback
        assert "invalid JSON value" in failed(
            ["param", "set", "tuned", "k", "{oops", "-d", "tune"], env
        )
        assert failed(["param", "get", "tuned", "threshold", "-d", "tune"], env) == (
            "error: param not found: threshold"
        )
        assert failed(["param", "set", "ghost", "k", "1", "-d", "tune"], env) == (
            f"error: node `ghost` not found in dataflow `{uuid}`"
        )
        assert failed(["param", "set", "tuned", "k" * 257, "1", "-d", "tune"], env) == (
            "error: param key too long (max 256 bytes)"
        )
        big = json.dumps("x" * 70_000)
        assert failed(["param", "set", "tuned", "big", big, "-d", "tune"], env) == (
            "error: param value too large (max 65536 bytes)"
        )
        assert "no dataflow with UUID or running name `nope`" in failed(
            ["param", "list", "tuned", "-d", "nope"], env
        )

        # coordinator restart: the sqlite store keeps the params; a change made to the
        # store meanwhile reaches the node through the catch-up after the daemon reconnects
        procs[0].kill()
        offline = SqliteStore(store)
        offline.put_node_param(uuid, "tuned", "offline", b'"set while away"')
        offline.delete_node_param(uuid, "tuned", "config")
        offline.close()
        procs.append(start_coordinator(port, "--store", f"sqlite:{store}"))
        seen = wait_event(
            events, {"type": "PARAM_UPDATE", "id": "offline", "value": "set while away"}
        )
        seen = wait_event(events, {"type": "PARAM_DELETED", "id": "config", "value": None})
        updates = [e for e in seen if e["type"] == "PARAM_UPDATE"]
        assert len(updates) == 3  # threshold, config, offline: nothing delivered twice
        listing = ok(["param", "list", "tuned", "-d", uuid, "--format", "json"], env)
        assert json.loads(listing) == {"offline": "set while away"}
    finally:
        run_dora(["stop", uuid, "--force"], env=env)

    # a finished dataflow: addressed by UUID, changes are only stored
    wait_until(lambda: "Running" not in run_dora(["list"], env=env).stdout, what="dataflow ended")
    ok(["param", "set", "tuned", "later", "true", "-d", uuid], env)
    assert ok(["param", "get", "tuned", "later", "-d", uuid], env) == "true\n"
    assert not any(e.get("id") == "later" for e in read_events(events))
