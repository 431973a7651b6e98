"""The descriptor rewrites of `dora record` and `dora replay`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dora_record.plan import (
    RECORD_NODE_ID,
    PlanError,
    choose_replaced,
    discover_topics,
    inject_recorder,
    plan_replay,
    select_topics,
)

DOC: dict[str, Any] = {
    "nodes": [
        {
            "id": "camera",
            "build": "pip install -e .",
            "path": "camera.py",
            "args": "--fps 30",
            "inputs": {"tick": "dora/timer/millis/20"},
            "outputs": ["image", "info"],
            "env": {"WIDTH": 640},
        },
        {
            "id": "op",
            "operator": {"python": "op.py", "inputs": {"i": "camera/image"}, "outputs": ["o"]},
        },
        {
            "id": "multi",
            "operators": [
                {"id": "a", "python": "a.py", "inputs": {"x": "camera/info"}, "outputs": ["y"]},
                {"id": "b", "python": "b.py", "outputs": ["z"]},
            ],
        },
        {
            "id": "sink",
            "path": "sink.py",
            "inputs": {
                "image": "camera/image",
                "info": {"source": "camera/info", "queue_size": 2},
                "y": {"source": "multi/a/y", "queue_policy": "drop_oldest"},
            },
        },
    ]
}


def test_topics_cover_nodes_operators_and_multi_operator_nodes() -> None:
    assert discover_topics(DOC) == [
        "camera/image",
        "camera/info",
        "op/o",
        "multi/a/y",
        "multi/b/z",
    ]


def test_a_dataflow_without_outputs_has_nothing_to_record() -> None:
    with pytest.raises(PlanError, match="no outputs found"):
        discover_topics({"nodes": [{"id": "a", "path": "a.py"}]})
    with pytest.raises(PlanError, match="no `nodes` list"):
        discover_topics({"node": []})


def test_selected_topics_must_exist() -> None:
    available = discover_topics(DOC)
    assert select_topics(available, None) == available
    assert select_topics(available, ["op/o", "op/o"]) == ["op/o"]
    with pytest.raises(PlanError, match=r"topic `camera/depth` not found.*Available: camera/image"):
        select_topics(available, ["camera/depth"])


def test_the_recorder_is_appended_with_its_inputs_and_environment() -> None:
    new = inject_recorder(
        DOC,
        ["camera/image", "multi/a/y"],
        output="/data/r.adorec",
        descriptor_file="/data/flow.yml",
        executable="/venv/bin/dora-record-node",
    )
    assert DOC["nodes"][-1]["id"] == "sink"  # the input is not changed
    recorder = new["nodes"][-1]
    assert recorder["id"] == RECORD_NODE_ID
    assert recorder["path"] == "/venv/bin/dora-record-node"
    assert recorder["inputs"] == {
        "camera___image": {
            "source": "camera/image",
            "queue_size": 1000,
            "queue_policy": "backpressure",
        },
        "multi___a___y": {
            "source": "multi/a/y",
            "queue_size": 1000,
            "queue_policy": "backpressure",
        },
    }
    env = recorder["env"]
    assert env["DORA_RECORD_FILE"] == "/data/r.adorec"
    assert env["DORA_RECORD_DESCRIPTOR_FILE"] == "/data/flow.yml"
    assert json.loads(env["DORA_RECORD_TOPICS"]) == {
        "camera___image": "camera/image",
        "multi___a___y": "multi/a/y",
    }


def test_a_second_recorder_is_refused() -> None:
    doc = {"nodes": [{"id": RECORD_NODE_ID, "path": "x", "outputs": ["o"]}]}
    with pytest.raises(PlanError, match="already has a node named"):
        inject_recorder(doc, ["x/o"], output="r", descriptor_file="f", executable="e")


def test_replaced_nodes_default_to_all_recorded_and_are_checked() -> None:
    assert choose_replaced(["camera", "multi", "camera"], None) == ["camera", "multi"]
    assert choose_replaced(["camera", "multi"], ["multi"]) == ["multi"]
    with pytest.raises(
        PlanError, match=r"node `sink` not found in the recording. Recorded nodes: camera, multi"
    ):
        choose_replaced(["camera", "multi"], ["sink"])


def test_replay_rewrites_replaced_nodes_and_sizes_the_queues_they_feed() -> None:
    counts = {("camera", "image"): 250, ("camera", "info"): 3, ("multi", "a/y"): 40}
    new = plan_replay(
        DOC,
        counts,
        ["camera", "multi"],
        recording="/data/r.adorec",
        speed=2,
        loop=True,
        executable="/venv/bin/dora-replay-node",
    )
    camera, op, multi, sink = new["nodes"]
    assert camera == {
        "id": "camera",
        "path": "/venv/bin/dora-replay-node",
        "outputs": ["image", "info"],
        "env": {
            "WIDTH": 640,
            "DORA_REPLAY_FILE": "/data/r.adorec",
            "DORA_REPLAY_NODE": "camera",
            "DORA_REPLAY_SPEED": "2.0",
            "DORA_REPLAY_LOOP": "true",
        },
    }
    assert multi["outputs"] == ["a/y", "b/z"] and "operators" not in multi
    # a live operator node reading a replayed output gets room for all of it
    assert op["operator"]["inputs"] == {
        "i": {"source": "camera/image", "queue_size": 250, "queue_policy": "backpressure"}
    }
    assert sink["inputs"] == {
        "image": {"source": "camera/image", "queue_size": 250, "queue_policy": "backpressure"},
        "info": {"source": "camera/info", "queue_size": 2},  # explicit sizes are kept
        "y": {"source": "multi/a/y", "queue_size": 40, "queue_policy": "drop_oldest"},
    }
    assert DOC["nodes"][0]["build"] == "pip install -e ."  # the input is not changed


def test_replay_without_loop_and_small_counts() -> None:
    new = plan_replay(
        DOC, {("camera", "info"): 1}, ["camera"], recording="r", speed=0, loop=False, executable="e"
    )
    camera = new["nodes"][0]
    assert "DORA_REPLAY_LOOP" not in camera["env"]
    assert camera["env"]["DORA_REPLAY_SPEED"] == "0.0"
    assert new["nodes"][3]["inputs"]["image"]["queue_size"] == 10  # at least 10
    assert new["nodes"][2]["operators"][0]["inputs"] == {
        "x": {"source": "camera/info", "queue_size": 10, "queue_policy": "backpressure"}
    }
