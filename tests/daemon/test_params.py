"""Runtime parameters on the daemon: delivery, the catch-up mirror (no I/O)."""

from __future__ import annotations

import pytest

from dora_daemon.params import ParamMirror, param_command
from dora_message import coordinator_to_daemon as cmd
from dora_message.errors import DoraError
from dora_message.node_protocol import (
    DaemonToNode,
    ParamDeleted,
    ParamUpdate,
    node_encoder,
    to_node_decoder,
)

pytestmark = pytest.mark.timeout(30)


class FakeDataflow:
    def __init__(self, unreachable: set[str] | None = None) -> None:
        self.delivered: list[tuple[str, DaemonToNode]] = []
        self.unreachable = unreachable or set()

    def deliver(self, node_id: str, message: DaemonToNode) -> None:
        if node_id in self.unreachable:
            raise DoraError(f"node `{node_id}` not connected")
        self.delivered.append((node_id, message))


def test_set_and_delete_are_pushed_to_the_node() -> None:
    mirror, dataflow = ParamMirror(), FakeDataflow()
    param_command(
        mirror, dataflow, cmd.SetParam(dataflow_id="d", node_id="n", key="k", value_json="1")
    )
    param_command(mirror, dataflow, cmd.DeleteParam(dataflow_id="d", node_id="n", key="k"))
    assert dataflow.delivered == [
        ("n", ParamUpdate(key="k", value_json="1")),
        ("n", ParamDeleted(key="k")),
    ]


def test_undeliverable_change_fails_and_is_not_remembered() -> None:
    mirror, dataflow = ParamMirror(), FakeDataflow(unreachable={"n"})
    with pytest.raises(DoraError, match="node `n` not connected"):
        param_command(
            mirror, dataflow, cmd.SetParam(dataflow_id="d", node_id="n", key="k", value_json="1")
        )
    assert mirror.missed("d", {"n": {"k": "1"}}) == [("n", ParamUpdate(key="k", value_json="1"))]


def test_replay_delivers_only_what_changed() -> None:
    mirror, dataflow = ParamMirror(), FakeDataflow()
    for key, value in (("same", "1"), ("changed", "2"), ("gone", "3")):
        param_command(
            mirror, dataflow, cmd.SetParam(dataflow_id="d", node_id="n", key=key, value_json=value)
        )
    dataflow.delivered.clear()
    replay = cmd.ReplayParams(
        dataflow_id="d", params={"n": {"same": "1", "changed": "20", "new": "4"}, "m": {}}
    )
    param_command(mirror, dataflow, replay)
    assert dataflow.delivered == [
        ("n", ParamDeleted(key="gone")),
        ("n", ParamUpdate(key="changed", value_json="20")),
        ("n", ParamUpdate(key="new", value_json="4")),
    ]
    dataflow.delivered.clear()
    param_command(mirror, dataflow, replay)  # a second replay finds nothing new
    assert dataflow.delivered == []


def test_replay_reports_unreachable_nodes_but_delivers_the_rest() -> None:
    mirror, dataflow = ParamMirror(), FakeDataflow(unreachable={"down"})
    replay = cmd.ReplayParams(dataflow_id="d", params={"down": {"a": "1"}, "up": {"b": "2"}})
    with pytest.raises(DoraError, match="param catch-up incomplete: down/a"):
        param_command(mirror, dataflow, replay)
    assert dataflow.delivered == [("up", ParamUpdate(key="b", value_json="2"))]


def test_forget_drops_a_dataflow() -> None:
    mirror = ParamMirror()
    mirror.delivered("d", "n", ParamUpdate(key="k", value_json="1"))
    mirror.forget("d")
    assert mirror.missed("d", {"n": {}}) == []


def test_param_messages_round_trip() -> None:
    for message in (ParamUpdate(key="k", value_json='{"a":1}'), ParamDeleted(key="k")):
        assert to_node_decoder.decode(node_encoder.encode(message)) == message
