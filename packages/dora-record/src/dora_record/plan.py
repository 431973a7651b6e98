"""The descriptor rewrites of ``dora record`` and ``dora replay`` (sans-I/O).

Both work on the dataflow as generic YAML (a ``dict``), before any schema parse or module
expansion, so the rewritten document keeps everything the user wrote. Topics use the
public form: ``node/output``, and ``node/operator/output`` for ``operators:`` nodes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dora_message.constants import (
    ENV_RECORD_DESCRIPTOR_FILE,
    ENV_RECORD_FILE,
    ENV_RECORD_TOPICS,
    ENV_REPLAY_FILE,
    ENV_REPLAY_LOOP,
    ENV_REPLAY_NODE,
    ENV_REPLAY_SPEED,
)
from dora_message.topics import node_outputs, node_parts
from dora_record.errors import PlanError

RECORD_NODE_ID = "__dora_record__"
RECORD_QUEUE_SIZE = 1000  # with backpressure: 10 000 messages before the recorder drops

# keys that describe how a node is built or fed: a replay node has none of them
_REPLAY_REMOVED_KEYS = (
    "build",
    "git",
    "branch",
    "tag",
    "rev",
    "hub",
    "operator",
    "operators",
    "custom",
    "args",
    "inputs",
    "input_types",
    "pattern",
)


def _nodes(doc: Any) -> list[dict[str, Any]]:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        raise PlanError("the dataflow has no `nodes` list")
    return [node for node in nodes if isinstance(node, dict)]


def discover_topics(doc: Any) -> list[str]:
    """Every recordable ``node/output`` of the dataflow, in descriptor order."""
    topics = []
    for node in _nodes(doc):
        topics += [f"{node.get('id')}/{output}" for output in node_outputs(node)]
    if not topics:
        raise PlanError(
            "no outputs found in the dataflow (only outputs listed under a top-level "
            "node's `outputs` can be recorded; nodes from modules cannot)"
        )
    return topics


def select_topics(available: list[str], requested: Iterable[str] | None) -> list[str]:
    """The requested topics (all when none), each checked against ``available``."""
    if requested is None:
        return list(available)
    return _pick(
        available,
        requested,
        lambda topic: (
            f"topic `{topic}` not found in the dataflow. Available: {', '.join(available)}"
        ),
    )


def _pick(
    available: list[str], requested: Iterable[str], unknown: Callable[[str], str]
) -> list[str]:
    """``requested`` without repeats; :class:`PlanError` with ``unknown(item)`` for an item
    not in ``available``."""
    chosen: list[str] = []
    for item in requested:
        if item not in available:
            raise PlanError(unknown(item))
        if item not in chosen:
            chosen.append(item)
    if not chosen:
        raise PlanError("nothing was chosen")
    return chosen


def record_input_id(topic: str) -> str:
    """The recorder's input id for ``topic`` (``node/out`` -> ``node___out``)."""
    return topic.replace("/", "___")


def inject_recorder(
    doc: Any, topics: list[str], *, output: str, descriptor_file: str, executable: str
) -> dict[str, Any]:
    """A copy of ``doc`` with the recorder node subscribed to ``topics``."""
    if any(node.get("id") == RECORD_NODE_ID for node in _nodes(doc)):
        raise PlanError(f"the dataflow already has a node named `{RECORD_NODE_ID}`")
    new = copy.deepcopy(doc)
    inputs = {
        record_input_id(topic): {
            "source": topic,
            "queue_size": RECORD_QUEUE_SIZE,
            "queue_policy": "backpressure",
        }
        for topic in topics
    }
    env = {
        ENV_RECORD_FILE: output,
        ENV_RECORD_TOPICS: json.dumps({record_input_id(t): t for t in topics}),
        ENV_RECORD_DESCRIPTOR_FILE: descriptor_file,
    }
    new["nodes"].append({"id": RECORD_NODE_ID, "path": executable, "inputs": inputs, "env": env})
    return new


def choose_replaced(recorded: Iterable[str], replace: Iterable[str] | None) -> list[str]:
    """The nodes to swap for replay nodes: ``replace`` (checked), else every recorded one."""
    nodes = list(dict.fromkeys(recorded))
    if replace is None:
        return nodes
    return _pick(
        nodes,
        replace,
        lambda node_id: (
            f"node `{node_id}` not found in the recording. Recorded nodes: {', '.join(nodes)}"
        ),
    )


def plan_replay(
    doc: Any,
    counts: Mapping[tuple[str, str], int],
    replaced: list[str],
    *,
    recording: str,
    speed: float,
    loop: bool,
    executable: str,
) -> dict[str, Any]:
    """A copy of ``doc`` where every node in ``replaced`` is a replay node.

    Inputs of the remaining nodes that read a replayed output and set no ``queue_size``
    get room for every recorded message of it (at least 10) and backpressure, so an
    unpaced replay does not drop messages silently.
    """
    new = copy.deepcopy(doc)
    swap = set(replaced)
    for node in _nodes(new):
        node_id = node.get("id")
        if node_id in swap:
            outputs = node_outputs(node)
            for key in _REPLAY_REMOVED_KEYS:
                node.pop(key, None)
            node["path"] = executable
            node["outputs"] = outputs
            env = node.get("env")
            env = dict(env) if isinstance(env, dict) else {}
            env[ENV_REPLAY_FILE] = recording
            env[ENV_REPLAY_NODE] = str(node_id)
            env[ENV_REPLAY_SPEED] = repr(float(speed))
            if loop:
                env[ENV_REPLAY_LOOP] = "true"
            node["env"] = env
        else:
            _size_queues(node, swap, counts)
    return new


def _size_queues(
    node: dict[str, Any], swap: set[str], counts: Mapping[tuple[str, str], int]
) -> None:
    for _prefix, part in node_parts(node):
        inputs = part.get("inputs")
        if not isinstance(inputs, dict):
            continue
        for input_id, spec in list(inputs.items()):
            long = {"source": spec} if isinstance(spec, str) else spec
            if not isinstance(long, dict) or "queue_size" in long:
                continue
            source = long.get("source")
            if not isinstance(source, str):
                continue
            producer, _, output = source.partition("/")
            if producer not in swap:
                continue
            long = dict(long)
            long["queue_size"] = max(counts.get((producer, output), 0), 10)
            long.setdefault("queue_policy", "backpressure")
            inputs[input_id] = long
