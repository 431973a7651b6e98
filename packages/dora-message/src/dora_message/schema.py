"""JSON Schema of the dataflow descriptor, for editors (``dora-schema.json``).

Generated from the msgspec Structs in :mod:`dora_message.descriptor`, then made friendlier:
a title and description on the document, a description on every property, no ``default:
null`` noise, and patterns on input mappings. Short-form inputs (``tick:
dora/timer/millis/100``) stay valid: an input is ``string | {source, queue_size, ...}``.

The schema checks shapes only; the rules that span several keys (exactly one of
``path``/``operator``/``operators``/``ros2``/``module``, wiring, ids) are checked by
``dora validate``. Regenerate the committed file with ``python scripts/gen_schema.py``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from dora_message.descriptor import Descriptor

__all__ = ["SCHEMA_DIALECT", "descriptor_schema", "descriptor_schema_json"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_INPUT_PATTERN = r"^[^/]+/.+$"
_INPUT_TEXT = (
    "Where the input comes from: `<node>/<output>`, `dora/timer/<secs|millis|micros|nanos>/"
    "<n>`, `dora/timer/hz/<rate>` or `dora/logs[/<level>[/<node>]]`."
)

_TITLES = {
    "Descriptor": "Dataflow",
    "Node": "Node",
    "Operator": "Operator",
    "InputSpec": "Input (long form)",
    "Deploy": "Deploy",
    "Debug": "Debug",
    "TypeRule": "Type rule",
    "PythonSource": "Python operator source",
    "HostEnv": "Host environment reference",
}

_SHARED = {
    "inputs": "Inputs by id: a source string (short form) or a mapping with `source` and "
    "queue options.",
    "outputs": "Ids of the outputs this node sends.",
    "output_types": "Type URN per output, e.g. `std/media/v1/Image`.",
    "input_types": "Type URN per input, e.g. `std/core/v1/UInt64`.",
    "output_metadata": "Metadata keys each output's messages must carry.",
    "output_framing": "Per-output framing (`raw` or `arrow-ipc`); parsed but not used.",
    "pattern": "Communication pattern: service-server, service-client, action-server or "
    "action-client.",
    "send_stdout_as": "Also send every stdout/stderr line as a message on this output.",
    "send_logs_as": "Also send every structured log record as JSON on this output.",
    "min_log_level": "Drop log records below this level: stdout, error, warn, info, debug "
    "or trace.",
    "max_log_size": "Rotate the node's log file at this size (`50MB`, `1K` or bytes).",
    "max_rotated_files": "How many rotated log files to keep (1 to 100, default 5).",
    "build": "Shell command(s), one per line, run by `dora build` (and before `dora run`).",
    "name": "Human-readable name (metadata only).",
    "description": "Free text describing it (shown by `dora graph`).",
    "env": "Environment variables; `$VAR` and `${VAR:-default}` are expanded.",
    "deploy": "Where the node runs when a coordinator places it.",
    "_unstable_deploy": "Same as `deploy` (the seed's spelling).",
    "id": "Identifier: letters, digits, `_`, `.` and `-`; unique in the dataflow.",
}

_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Descriptor": {
        "nodes": "The nodes of the dataflow.",
        "env": "Environment variables for every node (a node's own `env` wins).",
        "health_check_interval": "Seconds between health sweeps (`dora run`), > 0; default 5.",
        "exit_when_nodes_finish": "Timer and log inputs do not keep a node running once "
        "its data inputs are closed.",
        "strict_types": "Treat type warnings as errors in `dora validate` and `dora build`.",
        "type_rules": "Extra type-compatibility rules (`from` URN accepted where `to` is "
        "expected).",
        "deploy": "Default placement (accepted; placement reads the nodes' `deploy`).",
        "_unstable_debug": "Same as `debug` (the seed's spelling).",
        "debug": "Debugging aids such as topic inspection.",
        "name": "Name of the dataflow (used by `dora start` and shown by `dora graph`).",
        "description": "What the dataflow does.",
    },
    "Node": {
        "path": "Executable or script to run (`.py` runs with Python), or `dynamic` / `shell`.",
        "operator": "A single in-process operator instead of a process.",
        "operators": "Several in-process operators instead of a process.",
        "ros2": "A ROS 2 bridge configuration instead of a process.",
        "module": "A module file whose nodes replace this node.",
        "params": "Values for a module's parameters.",
        "git": "Git repository to clone; `path` and `build` are relative to it.",
        "branch": "Git branch to check out (needs `git`).",
        "tag": "Git tag to check out (needs `git`).",
        "rev": "Git commit to check out (needs `git`).",
        "hub": "Node package from a hub index: `[namespace/]name@version`.",
        "path_sha256": "Expected SHA-256 of a downloaded `path` URL.",
        "args": "Command-line arguments (a string split like a shell, or a list).",
        "shared_memory_pool_size": "Shared-memory pool for large outputs (`64MB` or bytes).",
        "restart_policy": "Restart the node: never, on-failure or always.",
        "max_restarts": "Restarts allowed per window (0 = unlimited).",
        "restart_delay": "Seconds before the first restart (doubles each time).",
        "max_restart_delay": "Cap of the restart delay, in seconds.",
        "restart_window": "Seconds after which the restart count resets.",
        "health_check_timeout": "Seconds without a sign of life before the node counts as hung.",
        "finish_grace_secs": "Seconds a node may keep running after its inputs closed.",
        "cpu_affinity": "CPU cores the node may run on (Linux).",
    },
    "Operator": {
        "id": "Operator id (default `op` for `operator:`; required in `operators:`).",
        "python": "Python file defining an `Operator` class, or `{source, conda_env}`.",
        "shared-library": "Shared library implementing the operator (extension optional).",
        "wasm": "WebAssembly operator (parsed, not supported at run time).",
    },
    "InputSpec": {
        "source": _INPUT_TEXT,
        "queue_size": "Messages kept for this input before the oldest is dropped (default 10).",
        "queue_policy": "drop_oldest (default) or backpressure (a larger queue, still never "
        "blocking the sender).",
        "input_timeout": "Seconds without a message after which the input counts as broken.",
    },
    "Deploy": {
        "machine": "Run on the daemon started with this machine id.",
        "labels": "Run on a daemon having all these labels.",
        "distribute": "How built files reach the daemon: local, scp or http.",
        "working_dir": "Working directory on the daemon's machine.",
    },
    "Debug": {
        "publish_all_messages_to_zenoh": "Publish every message for debugging tools.",
        "enable_debug_inspection": "Allow `dora topic echo/hz/info` and `dora record` "
        "to tap outputs.",
    },
    "TypeRule": {
        "from": "Type URN that is accepted ...",
        "to": "... where this type URN is expected.",
    },
    "PythonSource": {
        "source": "Python file defining an `Operator` class.",
        "conda_env": "Conda environment to run it in.",
    },
    "HostEnv": {"__dora_env": "Name of a host environment variable to copy."},
}


def descriptor_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``dataflow.yml`` as a dict."""
    raw = msgspec.json.schema(Descriptor, schema_hook=_schema_hook)
    defs: dict[str, Any] = raw["$defs"]
    for name, definition in defs.items():
        definition["title"] = _TITLES.get(name, name)
        own = _DESCRIPTIONS.get(name, {})
        for key, prop in definition.get("properties", {}).items():
            text = own.get(key) or _SHARED.get(key)
            if text:
                prop["description"] = text
            if prop.get("default", 0) is None:
                del prop["default"]  # "null" is not something to suggest to a user
            if name == "InputSpec" and key == "source":
                prop["pattern"] = _INPUT_PATTERN
            if key == "inputs":
                _describe_short_inputs(prop)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "dora dataflow",
        "description": "A dora dataflow descriptor (dataflow.yml): nodes and how their "
        "inputs and outputs are wired.",
        "$ref": raw["$ref"],
        "$defs": defs,
    }


def descriptor_schema_json() -> str:
    """:func:`descriptor_schema` as the text of ``dora-schema.json`` (ends with newline)."""
    return json.dumps(descriptor_schema(), indent=2, ensure_ascii=False) + "\n"


def _schema_hook(tp: type) -> dict[str, Any]:
    if tp is object:  # ros2 configuration values: any YAML value
        return {"description": "Any value."}
    raise NotImplementedError


def _describe_short_inputs(prop: dict[str, Any]) -> None:
    """Describe short-form input strings and check their `<first>/<rest>` shape."""
    for option in prop.get("additionalProperties", {}).get("anyOf", []):
        if option.get("type") == "string":
            option["pattern"] = _INPUT_PATTERN
            option["description"] = _INPUT_TEXT
