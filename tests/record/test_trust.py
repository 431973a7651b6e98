"""What a replay would run, and the replay-only dataflow of an untrusted recording."""

from __future__ import annotations

import pytest
import yaml

from dora_record.plan import plan_replay
from dora_record.trust import describe, dropped_settings, live_nodes, replay_only

DOC = yaml.safe_load(
    """
env:
  PYTHONPATH: /evil
deploy:
  working_dir: /
nodes:
  - id: cam
    path: cam.py
    build: pip install evil
    env:
      LD_PRELOAD: /evil.so
    deploy:
      machine: a
    restart_policy: always
    outputs: [frames]
  - id: ops
    operators:
      - id: op
        python: op.py
        build: make
    git: https://example.com/x.git
  - id: show
    path: "show\\e]0;t\\a.py"
    args: ["-c", 1]
    inputs:
      frames: cam/frames
"""
)


@pytest.mark.timeout(30)
def test_live_nodes_say_what_they_run() -> None:
    planned = plan_replay(
        DOC, {("cam", "frames"): 2}, ["cam"], recording="/r", speed=1, loop=False, executable="/x"
    )
    live = {node.node_id: node.runs for node in live_nodes(planned, ["cam"])}
    assert list(live) == ["ops", "show"]
    assert live["ops"] == "git https://example.com/x.git; operator python op.py, build make"
    # escapes in a crafted value are shown, not sent to the terminal
    assert live["show"] == "path show\\x1b]0;t\\x07.py; args ['-c', 1]"


@pytest.mark.timeout(30)
def test_describe_bounds_what_it_shows() -> None:
    bomb: list[object] = ["x"]
    for _ in range(30):
        bomb = [bomb, bomb]  # 2**30 leaves if printed in full
    text = describe({"id": "n", "path": "p" * 10_000, "args": bomb})
    assert len(text) < 1_000


@pytest.mark.timeout(30)
def test_replay_only_keeps_replay_nodes_and_nothing_that_runs() -> None:
    planned = plan_replay(
        DOC, {("cam", "frames"): 2}, ["cam"], recording="/r", speed=1, loop=False, executable="/x"
    )
    confined = replay_only(planned, ["cam"])
    assert set(confined) == {"nodes"}
    (cam,) = confined["nodes"]
    assert cam["path"] == "/x" and cam["outputs"] == ["frames"]
    assert set(cam["env"]) == {"DORA_REPLAY_FILE", "DORA_REPLAY_NODE", "DORA_REPLAY_SPEED"}
    assert "deploy" not in cam and "restart_policy" not in cam and "build" not in cam
    assert dropped_settings(planned, ["cam"]) == [
        "deploy",
        "env PYTHONPATH",
        "cam: deploy",
        "cam: restart_policy",
        "cam: env LD_PRELOAD",
    ]
