"""Facts derived from the node's ``NodeConfig``: its run config dict, its restart policy."""

from __future__ import annotations

from typing import Any

from dora_message.config import NodeConfig

_DEFAULT_INPUT = (10, "drop_oldest", None)


def run_config(config: NodeConfig) -> dict[str, Any]:
    """``node.node_config()``: inputs as mainline shows them (a plain source string when
    every option has its default), and the outputs."""
    inputs: dict[str, Any] = {}
    for input_id, spec in config.inputs.items():
        if (spec.queue_size, spec.queue_policy, spec.input_timeout) == _DEFAULT_INPUT:
            inputs[input_id] = spec.source
            continue
        entry: dict[str, Any] = {
            "source": spec.source,
            "queue_size": spec.queue_size,
            "queue_policy": spec.queue_policy,
        }
        if spec.input_timeout is not None:
            entry["input_timeout"] = spec.input_timeout
        inputs[input_id] = entry
    return {"inputs": inputs, "outputs": list(config.outputs)}


def may_restart(config: NodeConfig, clean: bool) -> bool:
    """Whether the daemon may restart this node once it exits (``clean``: no failure).

    Read from the node's ``restart_policy`` in the dataflow descriptor (default never).
    """
    nodes = config.dataflow_descriptor.get("nodes") or []
    spec = next((n for n in nodes if isinstance(n, dict) and n.get("id") == config.node_id), {})
    policy = spec.get("restart_policy") or "never"
    if policy == "always":
        return True
    return policy == "on-failure" and not clean
