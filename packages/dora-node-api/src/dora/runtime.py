"""The Python operator runtime: ``python -u -c "import dora; dora.start_runtime()"``.

The daemon starts the runtime like any node (``DORA_NODE_CONFIG``) and names the operator
in ``DORA_OPERATOR`` = ``{"id": ..., "python": "/abs/path/op.py"}``. The node's inputs
and outputs are called ``<operator id>/<name>``; the operator sees and uses the bare
names. The mainline ``DORA_RUNTIME_CONFIG`` (``{node, operators: [...]}``, single
operator) is accepted too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

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


def _load(path: str) -> ModuleType:
    file = Path(path).resolve()
    directory = str(file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import operator file {file}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[file.stem] = module
    module_spec.loader.exec_module(module)
    return module


def start_runtime() -> None:
    """Run one Python operator until it stops; exit code 1 on any operator error."""
    from dora.node import Node

    spec = _operator_spec()
    node = Node()
    prefix = f"{spec['id']}/"
    try:
        module = _load(spec["python"])
        operator = module.Operator()
        operator.dataflow_descriptor = node.dataflow_descriptor()
    except Exception:
        traceback.print_exc()
        node.close()
        sys.exit(1)

    def send_output(output_id: str, data: Any, metadata: dict[str, Any] | None = None) -> None:
        node.send_output(prefix + output_id, data, metadata)

    for event in node:
        event_id = event.get("id")
        if event["type"] in _PREFIXED_TYPES and isinstance(event_id, str):
            event["id"] = event_id.removeprefix(prefix)
        try:
            status = operator.on_event(event, send_output)
        except Exception:
            traceback.print_exc()
            node.close()
            sys.exit(1)
        value = getattr(status, "value", status)
        if value == 1:
            break
        if value == 2:
            print("operator requested StopAll, which is not yet implemented", file=sys.stderr)
            node.close()
            sys.exit(1)
    node.close()
