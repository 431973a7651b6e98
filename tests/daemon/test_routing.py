"""The Router's per-node index gives what a scan of the whole routing table gives.

The oracle below is the scan the Router used before it kept an index: for random graphs
(fan-in, fan-out, self-loops, several outputs and inputs per node) and random sequences of
closes, re-opens (a dynamic node joining again), failures and restarts, both must send the
same messages in the same order and answer ``downstream``/``closed_inputs`` the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import pytest

from dora_daemon.resolve import ResolvedDataflow
from dora_daemon.routing import Router

Consumers = dict[tuple[str, str], dict[str, list[str]]]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def send(self, node_id: str, message: Any) -> None:
        self.sent.append((node_id, message))

    def send_droppable(self, node_id: str, message: Any, limit: int) -> None:
        self.sent.append((node_id, message))


class ScanOracle:
    """The whole-table scans, kept as the reference."""

    def __init__(self, consumers: Consumers) -> None:
        self.consumers = consumers
        self.open = set(consumers)

    def close_outputs(self, producer: str, outputs: Iterable[str] | None) -> list[tuple]:
        wanted = None if outputs is None else set(outputs)
        closed: dict[str, list[str]] = {}
        for key in sorted(self.open):
            node, output = key
            if node != producer or (wanted is not None and output not in wanted):
                continue
            self.open.discard(key)
            for receiver, input_ids in self.consumers[key].items():
                closed.setdefault(receiver, []).extend(input_ids)
        return [(receiver, ids, producer) for receiver, ids in closed.items()]

    def reopen_outputs(self, producer: str) -> None:
        self.open.update(key for key in self.consumers if key[0] == producer)

    def downstream(self, producer: str) -> dict[str, list[str]]:
        receivers: dict[str, list[str]] = {}
        for (node, _output), readers in sorted(self.consumers.items()):
            if node == producer:
                for receiver, input_ids in readers.items():
                    receivers.setdefault(receiver, []).extend(input_ids)
        return receivers

    def closed_inputs(self, receiver: str) -> dict[str, list[str]]:
        closed: dict[str, list[str]] = {}
        for key, readers in sorted(self.consumers.items()):
            if key not in self.open and receiver in readers:
                closed.setdefault(key[0], []).extend(readers[receiver])
        return closed


def random_graph(rng: random.Random, size: int) -> tuple[list[str], Consumers]:
    """Nodes with 0-3 outputs; each reads 0-4 random outputs (its own included), some of
    them on two inputs. Node ids are shuffled so table order differs from sorted order."""
    nodes = [f"n{i}" for i in range(size)]
    rng.shuffle(nodes)
    outputs = [(node, f"o{j}") for node in nodes for j in range(rng.randint(0, 3))]
    consumers: Consumers = {}
    for node in nodes:
        for k, key in enumerate(rng.sample(outputs, min(len(outputs), rng.randint(0, 4)))):
            ids = consumers.setdefault(key, {}).setdefault(node, [])
            ids.append(f"in{k}")
            if rng.random() < 0.1:
                ids.append(f"in{k}b")  # the same output read twice
    # hubs: one output many read (fan-out) and one node reading many (fan-in)
    if outputs:
        hub = outputs[0]
        for node in nodes[: size // 2]:
            consumers.setdefault(hub, {}).setdefault(node, []).append("hub")
        for i, key in enumerate(outputs[: size // 2]):
            consumers.setdefault(key, {}).setdefault(nodes[-1], []).append(f"fan{i}")
    return nodes, consumers


def closed_messages(sent: list[tuple[str, Any]]) -> list[tuple]:
    return [(receiver, msg.input_ids, msg.source_node) for receiver, msg in sent]


@pytest.mark.parametrize("seed", range(30))
def test_the_index_answers_like_the_scan(seed: int) -> None:
    rng = random.Random(seed)
    nodes, consumers = random_graph(rng, rng.choice([1, 2, 5, 20, 60]))
    recorder = Recorder()
    router = Router(ResolvedDataflow("df", "\0d", nodes={}, consumers=consumers), recorder, print)
    oracle = ScanOracle(consumers)
    for _ in range(200):
        node = rng.choice([*nodes, "not-a-node"])
        action = rng.randrange(6)
        recorder.sent.clear()
        if action == 0:
            router.close_outputs(node)
            assert closed_messages(recorder.sent) == oracle.close_outputs(node, None)
        elif action == 1:
            names = [f"o{j}" for j in range(4) if rng.random() < 0.5]
            router.close_outputs(node, names)
            assert closed_messages(recorder.sent) == oracle.close_outputs(node, names)
        elif action == 2:
            router.reopen_outputs(node)
            oracle.reopen_outputs(node)
        elif action == 3:
            router.node_failed(node, "boom")
            expected = oracle.downstream(node)
            got = [(r, m.source_node, m.affected_input_ids) for r, m in recorder.sent]
            assert got == [(r, node, ids) for r, ids in expected.items()]
        elif action == 4:
            router.node_restarted(node)
            assert [r for r, _ in recorder.sent] == list(oracle.downstream(node))
        assert router.downstream(node) == oracle.downstream(node)
        assert router.closed_inputs(node) == oracle.closed_inputs(node)


def test_the_generated_graphs_have_fan_in_fan_out_and_self_loops() -> None:
    graphs = [random_graph(random.Random(seed), 20)[1] for seed in range(30)]
    edges = [(key, reader) for c in graphs for key, readers in c.items() for reader in readers]
    assert max(len(readers) for c in graphs for readers in c.values()) > 5  # fan-out
    for consumers in graphs:
        reads: dict[str, int] = {}
        for readers in consumers.values():
            for reader in readers:
                reads[reader] = reads.get(reader, 0) + 1
        assert max(reads.values(), default=0) > 5 or len(consumers) < 6  # fan-in
    assert any(key[0] == reader for key, reader in edges)  # self-loops


def test_a_self_loop_closes_and_reports_its_own_input() -> None:
    consumers: Consumers = {("a", "out"): {"a": ["back"], "b": ["in"]}}
    recorder = Recorder()
    router = Router(ResolvedDataflow("df", "\0d", nodes={}, consumers=consumers), recorder, print)
    assert router.downstream("a") == {"a": ["back"], "b": ["in"]}
    router.close_outputs("a")
    assert closed_messages(recorder.sent) == [("a", ["back"], "a"), ("b", ["in"], "a")]
    assert router.closed_inputs("a") == {"a": ["back"]}
    router.reopen_outputs("a")
    assert router.closed_inputs("a") == {}
