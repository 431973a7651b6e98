"""What ``dora node info`` tells about a node from its dataflow's descriptor: where it
comes from, its restart policy, and who subscribes to each of its outputs."""

from __future__ import annotations

from typing import Any

# restart keys and their defaults (spec/runtime.md §7): shown even when not set
_RESTART_KEYS: dict[str, Any] = {
    "restart_policy": "never",
    "max_restarts": 0,
    "restart_delay": None,
    "max_restart_delay": None,
    "restart_window": None,
    "health_check_timeout": None,
    "finish_grace_secs": None,
}


def node_setup(spec: dict[str, Any], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """``name``, ``description``, ``path``, the restart keys, and ``subscribers``
    (output id -> ``node/input`` that read it) of the node ``spec`` among ``nodes``."""
    facts: dict[str, Any] = {
        "name": spec.get("name"),
        "description": spec.get("description"),
        "path": _path_of(spec),
    }
    for key, default in _RESTART_KEYS.items():
        value = spec.get(key)
        facts[key] = default if value is None else value
    node_id = spec.get("id")
    outputs = [str(o) for o in spec.get("outputs") or []]
    facts["subscribers"] = {
        output: subscribers_of(f"{node_id}/{output}", nodes) for output in outputs
    }
    return facts


def _path_of(spec: dict[str, Any]) -> str | None:
    if spec.get("path") is not None:
        return str(spec["path"])
    operator = spec.get("operator")
    if isinstance(operator, dict):  # a single-operator runtime node
        return next((str(operator[k]) for k in ("python", "shared-library") if k in operator), None)
    return "runtime" if spec.get("operators") else None  # several operators, one process


def subscribers_of(source: str, nodes: list[dict[str, Any]]) -> list[str]:
    """``node/input`` of every input (operator inputs as ``node/op/input``) reading
    ``source``, in descriptor order."""
    found: list[str] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        owner = str(node.get("id"))
        found += [f"{owner}/{i}" for i in _reading(node.get("inputs"), source)]
        operator = node.get("operator")
        operators = [operator] if isinstance(operator, dict) else node.get("operators") or []
        for op in operators:
            if isinstance(op, dict):
                reading = _reading(op.get("inputs"), source)
                found += [f"{owner}/{op.get('id', 'op')}/{i}" for i in reading]
    return found


def _reading(inputs: Any, source: str) -> list[str]:
    if not isinstance(inputs, dict):
        return []
    return [
        str(input_id)
        for input_id, spec in inputs.items()
        if (spec if isinstance(spec, str) else (spec or {}).get("source")) == source
    ]
