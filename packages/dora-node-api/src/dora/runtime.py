"""The Python operator runtime: ``python -u -c "import dora; dora.start_runtime()"``.

The daemon starts the runtime like any node (``DORA_NODE_CONFIG``) and names the operator
in ``DORA_OPERATOR`` = ``{"id": ..., "python": "/abs/path/op.py"}``. The node's inputs
and outputs are called ``<operator id>/<name>``; the operator sees and uses the bare
names. The mainline ``DORA_RUNTIME_CONFIG`` (``{node, operators: [...]}``, single
operator) is accepted too.

Hot reload (``dora start --hot-reload``): a RELOAD event re-executes the operator's module
and swaps in a new ``Operator()`` holding the old one's state (see :mod:`dora._reload`).
A failed reload is logged and the old operator keeps running; an exception in the first
``on_event`` after a reload is logged too instead of failing the node, so a bad edit can be
fixed by the next one.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from types import ModuleType
from typing import Any

from dora._reload import load_module, reload_operator
from dora.events import RELOAD

ENV_OPERATOR = "DORA_OPERATOR"
ENV_RUNTIME_CONFIG = "DORA_RUNTIME_CONFIG"
_PREFIXED_TYPES = frozenset(("INPUT", "INPUT_CLOSED", "INPUT_RECOVERED"))


def _operator_spec() -> dict[str, Any]:
    raw = os.environ.get(ENV_OPERATOR)
    if raw:
        spec = json.loads(raw)
    else:
        runtime_raw = os.environ.get(ENV_RUNTIME_CONFIG)
        if not runtime_raw:
            raise RuntimeError(f"neither {ENV_OPERATOR} nor {ENV_RUNTIME_CONFIG} is set")
        import yaml  # JSON is YAML too

        runtime = yaml.safe_load(runtime_raw)
        if "node" in runtime and "DORA_NODE_CONFIG" not in os.environ:
            os.environ["DORA_NODE_CONFIG"] = json.dumps(runtime["node"])
        operators = runtime.get("operators") or []
        if len(operators) != 1:
            raise RuntimeError(f"the runtime runs exactly one operator, got {len(operators)}")
        operator = operators[0]
        source = operator.get("python")
        if isinstance(source, dict):
            source = source.get("source")
        spec = {"id": operator.get("id", "op"), "python": source}
    if not spec.get("id") or not spec.get("python"):
        raise RuntimeError(f"incomplete operator spec: {spec!r}")
    return spec


def _hot_reload(module: ModuleType, operator: Any, operator_id: str) -> Any | None:
    """The reloaded operator, or None (error printed) when the old one must stay."""
    try:
        new = reload_operator(module, operator)
    except Exception:
        traceback.print_exc()
        print(
            f"hot reload of operator `{operator_id}` failed; the previous code keeps running",
            file=sys.stderr,
            flush=True,
        )
        return None
    print(f"operator `{operator_id}` reloaded", file=sys.stderr, flush=True)
    return new


def start_runtime() -> None:
    """Run one Python operator until it stops; exit code 1 on any operator error."""
    from dora.node import Node

    spec = _operator_spec()
    node = Node()
    operator_id = spec["id"]
    prefix = f"{operator_id}/"
    try:
        module = load_module(spec["python"])
        operator = module.Operator()
        operator.dataflow_descriptor = node.dataflow_descriptor()
    except Exception:
        traceback.print_exc()
        node.close()
        sys.exit(1)

    def send_output(output_id: str, data: Any, metadata: dict[str, Any] | None = None) -> None:
        node.send_output(prefix + output_id, data, metadata)

    just_reloaded = False
    for event in node:
        event_id = event.get("id")
        if event["type"] == RELOAD:
            if event_id != operator_id:
                print(f"ignoring a reload of unknown operator `{event_id}`", file=sys.stderr)
                continue
            reloaded = _hot_reload(module, operator, operator_id)
            if reloaded is not None:
                operator, just_reloaded = reloaded, True
            continue
        if event["type"] in _PREFIXED_TYPES and isinstance(event_id, str):
            event["id"] = event_id.removeprefix(prefix)
        try:
            status = operator.on_event(event, send_output)
        except Exception:
            traceback.print_exc()
            if just_reloaded:
                just_reloaded = False
                print(
                    f"operator `{operator_id}` failed on its first event after a hot reload; "
                    "continuing (fix the file to reload again)",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            node.close()
            sys.exit(1)
        just_reloaded = False
        value = getattr(status, "value", status)
        if value == 1:
            break
        if value == 2:
            print("operator requested StopAll, which is not yet implemented", file=sys.stderr)
            node.close()
            sys.exit(1)
    node.close()
