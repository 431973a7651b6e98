"""Facts derived from the node's ``NodeConfig``: run config dict, restart policy, health
check, and the whole dataflow descriptor when the config carries only part of it."""

from __future__ import annotations

from typing import Any

import msgspec

from dora_message.config import NodeConfig
from dora_message.descriptor_limits import MAX_TEXT_BYTES
from dora_message.private_files import NotPrivate, read_private

# the descriptor file is JSON of a descriptor whose YAML text is at most MAX_TEXT_BYTES;
# JSON quotes every key and string, so allow it a few times that
MAX_DESCRIPTOR_FILE_BYTES = 4 * MAX_TEXT_BYTES

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


def whole_descriptor(config: NodeConfig) -> dict[str, Any]:
    """The whole dataflow descriptor: the config's own, or, when the daemon trimmed that
    to keep the config small (``descriptor_file`` set), read from the daemon's file.

    The file must be a regular file (no symlink at its last component), owned by this
    user (or root with ``allow_root_peers``), unreadable by group and others, and at
    most ``MAX_DESCRIPTOR_FILE_BYTES``; raises ``RuntimeError`` naming it otherwise."""
    path = config.descriptor_file
    if not path:
        return config.dataflow_descriptor
    try:
        data = read_private(path, MAX_DESCRIPTOR_FILE_BYTES, allow_root=config.allow_root_peers)
    except NotPrivate as refusal:
        raise RuntimeError(f"dataflow descriptor file {path} {refusal}") from None
    except OSError as error:
        raise RuntimeError(
            f"cannot read the dataflow descriptor file {path}: {error.strerror}"
        ) from None
    try:
        descriptor = msgspec.json.decode(data)
    except msgspec.DecodeError as error:
        raise RuntimeError(f"dataflow descriptor file {path} is not JSON: {error}") from None
    if not isinstance(descriptor, dict):
        raise RuntimeError(f"dataflow descriptor file {path} does not hold a descriptor")
    return descriptor
