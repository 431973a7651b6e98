"""The runtime node's rules (dora._operators.host), with stand-in operators and node: which
operator gets which event and under which id, what STOP and STOP_ALL do, hot reload
routing. No process; the real thing runs in the other test_operator_*.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dora._operators.host import Host
from dora._operators.outcome import CONTINUE, STOP, STOP_ALL, OperatorFailed
from dora.events import (
    input_closed_event,
    input_event,
    node_failed_event,
    node_restarted_event,
    reload_event,
    stop_event,
)
from dora_message.config import NodeConfig


class FakeOperator:
    def __init__(self, op_id: str, kind: str, answers: dict[str, int] | None = None) -> None:
        self.id = op_id
        self.kind = kind
        self.answers = answers or {}  # input id -> status
        self.seen: list[tuple[str, Any]] = []
        self.dropped = 0
        self.reloaded = 0

    def on_event(self, event: dict[str, Any]) -> int:
        self.seen.append((event["type"], event.get("id")))
        if event["type"] == "INPUT" and event["id"] == "boom":
            raise OperatorFailed(f"operator `{self.id}` returned an error: boom")
        return self.answers.get(str(event.get("id")), CONTINUE)

    def drop(self) -> None:
        self.dropped += 1

    def reload(self) -> None:
        self.reloaded += 1


class FakeNode:
    def __init__(self, events: list[dict[str, Any]], outputs: list[str]) -> None:
        self.events = events
        self.outputs = outputs
        self.closed: list[list[str]] = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)

    def node_config(self) -> dict[str, Any]:
        return {"inputs": {}, "outputs": list(self.outputs)}

    def close_outputs(self, outputs: list[str]) -> None:
        self.closed.append(outputs)


def host_with(
    operators: list[FakeOperator], events: list[dict[str, Any]], outputs: tuple[str, ...] = ()
) -> tuple[Host, FakeNode]:
    config = NodeConfig(dataflow_id="d", node_id="rt", daemon_address="", listen_address="")
    host = Host(config, [])
    host.running = {op.id: op for op in operators}
    node = FakeNode(events, list(outputs))
    host.attach(node)  # type: ignore[arg-type]
    return host, node


def tick(op_input: str) -> dict[str, Any]:
    return input_event(op_input, None, {})


def test_inputs_reach_their_operator_by_bare_id_and_stop_reaches_all() -> None:
    c, py = FakeOperator("c", "shared-library"), FakeOperator("py", "python")
    events = [tick("c/tick"), tick("py/tick"), input_closed_event("py/ticks"), stop_event()]
    host, _ = host_with([c, py], events)
    host.run()
    assert c.seen == [("INPUT", "tick"), ("STOP", "MANUAL")]
    assert py.seen == [("INPUT", "tick"), ("INPUT_CLOSED", "ticks"), ("STOP", "MANUAL")]


def test_node_events_go_to_python_operators_with_their_own_input_ids() -> None:
    c, py, other = (
        FakeOperator("c", "shared-library"),
        FakeOperator("py", "python"),
        FakeOperator("other", "python"),
    )
    failed = node_failed_event("up", "crashed", ["py/a", "c/b", "py/c"])
    host, _ = host_with([c, py, other], [node_restarted_event("up"), failed])
    routed = host._route(failed)
    assert [(op.id, ev["value"]["affected_input_ids"]) for op, ev in routed] == [("py", ["a", "c"])]
    host.run()
    assert c.seen == []  # no C form for either event
    assert other.seen == [("NODE_RESTARTED", "up")]


def test_stop_drops_one_operator_and_closes_only_its_outputs() -> None:
    c = FakeOperator("c", "shared-library", {"tick": STOP})
    py = FakeOperator("py", "python")
    events = [tick("c/tick"), tick("c/tick"), tick("py/tick")]
    host, node = host_with([c, py], events, outputs=("c/out", "c/echo", "py/words"))
    host.run()
    assert c.seen == [("INPUT", "tick")]  # nothing after its STOP
    assert c.dropped == 1
    assert node.closed == [["c/out", "c/echo"]]
    assert list(host.running) == ["py"]


def test_the_node_ends_when_every_operator_stopped() -> None:
    a = FakeOperator("a", "python", {"tick": STOP})
    b = FakeOperator("b", "shared-library", {"tick": STOP})
    events = [tick("a/tick"), tick("b/tick"), tick("a/tick")]
    host, node = host_with([a, b], events, outputs=("a/x", "b/y"))
    host.run()
    assert (a.seen, b.seen) == ([("INPUT", "tick")], [("INPUT", "tick")])
    assert host.running == {}
    assert node.closed == [["a/x"]]  # the last operator's outputs close with the node


def test_stop_all_tells_and_drops_the_others_then_ends() -> None:
    py = FakeOperator("py", "python", {"tick": STOP_ALL})
    c = FakeOperator("c", "shared-library")
    host, _ = host_with([py, c], [tick("py/tick"), tick("c/tick")])
    host.run()
    assert c.seen == [("STOP", "MANUAL")]  # told, and nothing after
    assert (py.dropped, c.dropped) == (1, 1)
    assert host.running == {}


def test_reload_targets_one_python_operator() -> None:
    a, b, c = FakeOperator("a", "python"), FakeOperator("b", "python"), FakeOperator("c", "x")
    host, _ = host_with([a, b, c], [reload_event("b"), reload_event("c"), reload_event("nope")])
    host.run()
    assert (a.reloaded, b.reloaded, c.reloaded) == (0, 1, 0)


def test_a_failure_propagates_and_abandon_drops_the_rest() -> None:
    a, b = FakeOperator("a", "shared-library"), FakeOperator("b", "python")
    host, _ = host_with([a, b], [tick("a/boom")])
    with pytest.raises(OperatorFailed, match="operator `a` returned an error"):
        host.run()
    host.abandon()
    assert (a.dropped, b.dropped) == (1, 1)
