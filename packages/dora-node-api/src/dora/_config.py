"""Facts derived from the node's ``NodeConfig``: run config dict, restart policy, health check."""

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


def _node_spec(config: NodeConfig) -> dict[str, Any]:
    """The node's entry of the dataflow descriptor (empty if not found)."""
    nodes = config.dataflow_descriptor.get("nodes") or []
    return next((n for n in nodes if isinstance(n, dict) and n.get("id") == config.node_id), {})


def health_check_timeout(config: NodeConfig) -> float | None:
    """The node's ``health_check_timeout`` in seconds, if it has one."""
    value = _node_spec(config).get("health_check_timeout")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def may_restart(config: NodeConfig, clean: bool | None) -> bool:
    """Whether the daemon may restart this node once it exits.

    ``clean``: the exit is known to be a success (True), a failure (False), or not
    known (None: at interpreter exit, ``sys.exit(1)`` and ``sys.exit(0)`` look the same
    and only the daemon learns the exit status). Read from the node's
    ``restart_policy`` in the dataflow descriptor (default never).
    """
    policy = _node_spec(config).get("restart_policy") or "never"
    if policy == "always":
        return True
    return policy == "on-failure" and clean is not True
