"""`dora topic list` against a real coordinator and daemon, and its topic model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dora_message.topics import topic_subscribers
from tests.cli.helpers import started_uuid, write_flow
from tests.procs import run_dora


def test_subscribers_of_nodes_operators_and_multi_operator_nodes() -> None:
    doc = {
        "nodes": [
            {"id": "cam", "outputs": ["image"], "inputs": {"tick": "dora/timer/millis/10"}},
            {"id": "det", "operator": {"inputs": {"img": "cam/image"}, "outputs": ["boxes"]}},
            {
                "id": "multi",
                "operators": [
                    {"id": "a", "inputs": {"b": {"source": "det/boxes"}}, "outputs": ["x"]},
                    {"id": "b", "inputs": {"x": "multi/a/x", "i": "cam/image"}},
                ],
            },
        ]
    }
    assert topic_subscribers(doc) == {
        "cam/image": ["det/img", "multi/b/i"],
        "det/boxes": ["multi/a/b"],
        "multi/a/x": ["multi/b/x"],
    }
    assert topic_subscribers({"nodes": "nope"}) == {}


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_topic_list_of_a_running_dataflow(tmp_path: Path, coordinated: dict[str, str]) -> None:
    env = coordinated
    flow = write_flow(tmp_path / "flow", "endless")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "topics"], env=env))
    try:
        result = run_dora(["topic", "list", "-d", "topics", "--format", "json"], env=env)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert rows == [{"node": "ticker", "name": "count", "subscribers": ["listener/count"]}]

        table = run_dora(["topic", "list", "-d", uuid], env=env)
        assert table.returncode == 0, table.stderr
        header, row = table.stdout.splitlines()
        assert header.split() == ["NODE", "NAME", "SUBSCRIBERS"]
        assert row.split() == ["ticker", "count", "listener/count"]

        missing = run_dora(["topic", "list", "-d", "nosuch"], env=env)
        assert missing.returncode == 1
        assert "Traceback" not in missing.stderr
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
