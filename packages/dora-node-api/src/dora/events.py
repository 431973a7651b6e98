"""Event dictionaries, exactly as dora-rs hands them to Python nodes.

Every event has ``"kind": "dora"`` and a ``"type"``:

=================  ======================================================================
type               other keys
=================  ======================================================================
INPUT              ``id`` (input id), ``value`` (pyarrow.Array), ``metadata`` (dict)
INPUT_CLOSED       ``id``
INPUT_RECOVERED    ``id``
NODE_RESTARTED     ``id`` (upstream node id)
NODE_FAILED        ``id``, ``value`` = {source_node_id, error, affected_input_ids}
STOP               ``id`` = ``"MANUAL"`` or ``"ALL_INPUTS_CLOSED"``
PARAM_UPDATE       ``id`` (parameter key), ``value`` (the JSON-decoded value)
PARAM_DELETED      ``id`` (parameter key)
RELOAD             ``id`` (operator id): hot reload, consumed by the operator runtime
ERROR              ``error`` (text)
=================  ======================================================================
"""

from __future__ import annotations

from typing import Any

INPUT = "INPUT"
INPUT_CLOSED = "INPUT_CLOSED"
INPUT_RECOVERED = "INPUT_RECOVERED"
NODE_RESTARTED = "NODE_RESTARTED"
NODE_FAILED = "NODE_FAILED"
STOP = "STOP"
PARAM_UPDATE = "PARAM_UPDATE"
PARAM_DELETED = "PARAM_DELETED"
RELOAD = "RELOAD"
ERROR = "ERROR"

Event = dict[str, Any]


def input_event(input_id: str, value: Any, metadata: dict[str, Any]) -> Event:
    """An INPUT event."""
    return {"kind": "dora", "type": INPUT, "id": input_id, "value": value, "metadata": metadata}


def input_closed_event(input_id: str) -> Event:
    """An INPUT_CLOSED event."""
    return {"kind": "dora", "type": INPUT_CLOSED, "id": input_id}


def input_recovered_event(input_id: str) -> Event:
    """An INPUT_RECOVERED event."""
    return {"kind": "dora", "type": INPUT_RECOVERED, "id": input_id}


def node_restarted_event(node_id: str) -> Event:
    """A NODE_RESTARTED event."""
    return {"kind": "dora", "type": NODE_RESTARTED, "id": node_id}


def node_failed_event(node_id: str, error: str, affected_input_ids: list[str]) -> Event:
    """A NODE_FAILED event."""
    return {
        "kind": "dora",
        "type": NODE_FAILED,
        "id": node_id,
        "value": {
            "source_node_id": node_id,
            "error": error,
            "affected_input_ids": list(affected_input_ids),
        },
    }


def stop_event(cause: str = "MANUAL") -> Event:
    """A STOP event; ``cause`` is ``MANUAL`` or ``ALL_INPUTS_CLOSED``."""
    return {"kind": "dora", "type": STOP, "id": cause}


def param_update_event(key: str, value: Any) -> Event:
    """A PARAM_UPDATE event (``dora param set``); ``value`` is already JSON-decoded."""
    return {"kind": "dora", "type": PARAM_UPDATE, "id": key, "value": value}


def param_deleted_event(key: str) -> Event:
    """A PARAM_DELETED event (``dora param delete``)."""
    return {"kind": "dora", "type": PARAM_DELETED, "id": key}


def reload_event(operator_id: str) -> Event:
    """A RELOAD event (``dora start --hot-reload`` saw the operator's file change)."""
    return {"kind": "dora", "type": RELOAD, "id": operator_id}


def error_event(message: str) -> Event:
    """An ERROR event."""
    return {"kind": "dora", "type": ERROR, "error": message}
