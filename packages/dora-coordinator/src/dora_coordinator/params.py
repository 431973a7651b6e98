"""Runtime parameters (``dora param``): limits and value encoding, sans-I/O.

A parameter is keyed by (dataflow UUID, node id, key); its value is a JSON value kept as
its serialized text. Every store backend enforces the same limits
(spec/templates-and-misc.md §4): the key is at most 256 bytes (UTF-8) and has no NUL
character, the serialized value is at most 65 536 bytes.

On top of that, :func:`check_room` bounds what one node and one dataflow may hold in all
(:class:`~dora_coordinator.limits.Limits`): a number of parameters per node, and bytes
(keys plus values) per node and per dataflow, so that ``dora param set`` cannot fill
the store, and the catch-up sent to a reconnecting daemon fits in one frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from dora_coordinator.errors import CoordinatorServerError
from dora_coordinator.limits import Limits
from dora_message.param_checks import param_key_problem, param_value_problem

MAX_KEY_BYTES = 256
MAX_VALUE_BYTES = 65536


class ParamError(CoordinatorServerError):
    """A parameter that breaks a limit, or one that does not exist."""


def check_key(key: str) -> None:
    """Raise :class:`ParamError` unless ``key`` is a valid parameter key."""
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ParamError(f"param key too long (max {MAX_KEY_BYTES} bytes)")
    if "\0" in key:
        raise ParamError("param key must not contain null bytes")
    problem = param_key_problem(key)  # empty, or control characters (issue 13 item 8)
    if problem:
        raise ParamError(problem)


def check_value(value_json: bytes) -> None:
    """Raise :class:`ParamError` unless ``value_json`` is small enough and valid JSON."""
    if len(value_json) > MAX_VALUE_BYTES:
        raise ParamError(f"param value too large (max {MAX_VALUE_BYTES} bytes)")
    try:
        value = msgspec.json.decode(value_json)
    except (msgspec.DecodeError, RecursionError):
        raise ParamError("invalid JSON value") from None
    problem = param_value_problem(value)  # nested too deeply for the nodes' decoders
    if problem:
        raise ParamError(problem)


def decode_value(value_json: bytes) -> Any:
    """The JSON value; raises ``msgspec.DecodeError`` when the stored bytes are unreadable."""
    return msgspec.json.decode(value_json)


def not_found(key: str) -> ParamError:
    """The error for a key that is not set."""
    return ParamError(f"param not found: {key}")


@dataclass(frozen=True)
class ParamUsage:
    """What a dataflow's parameters take now, around one (node, key)."""

    node_count: int  # parameters of the node
    node_bytes: int  # their keys and values, in bytes
    dataflow_bytes: int  # keys and values of every node of the dataflow
    existing: int | None  # bytes of the entry under the same key, if it is set


def entry_bytes(key: str, value_json: bytes) -> int:
    """What one parameter counts against the byte bounds."""
    return len(key.encode()) + len(value_json)


def check_room(limits: Limits, node: str, usage: ParamUsage, size: int) -> None:
    """Raise :class:`ParamError`, naming the bound, unless an entry of ``size`` bytes fits."""
    replaced = usage.existing or 0
    if usage.existing is None and usage.node_count >= limits.max_params_per_node:
        raise ParamError(
            f"param limit reached: node `{node}` already has {usage.node_count} params "
            f"(max {limits.max_params_per_node} per node, "
            "DORA_COORDINATOR_MAX_PARAMS_PER_NODE)"
        )
    node_bytes = usage.node_bytes - replaced + size
    if node_bytes > limits.max_param_bytes_per_node:
        raise ParamError(
            f"param limit reached: the params of node `{node}` would take {node_bytes} bytes "
            f"(max {limits.max_param_bytes_per_node} bytes per node, "
            "DORA_COORDINATOR_MAX_PARAM_BYTES_PER_NODE)"
        )
    dataflow_bytes = usage.dataflow_bytes - replaced + size
    if dataflow_bytes > limits.max_param_bytes_per_dataflow:
        raise ParamError(
            f"param limit reached: the params of this dataflow would take {dataflow_bytes} "
            f"bytes (max {limits.max_param_bytes_per_dataflow} bytes per dataflow, "
            "DORA_COORDINATOR_MAX_PARAM_BYTES_PER_DATAFLOW)"
        )
