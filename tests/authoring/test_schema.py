"""dora-schema.json: committed file up to date, and it accepts real dataflows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dora_message.schema import SCHEMA_DIALECT, descriptor_schema, descriptor_schema_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "dora-schema.json"
FIXTURES = sorted((ROOT / "tests" / "message" / "fixtures").glob("*.yml"))
EXAMPLES = sorted((ROOT / "examples").glob("*/dataflow.yml"))


def errors(schema: dict[str, Any], value: Any, node: dict[str, Any] | None = None) -> list[str]:
    """A minimal validator for the keywords msgspec emits (no third-party validator here)."""
    node = schema if node is None else node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        found = errors(schema, value, schema["$defs"][name])
        if found:
            return found
    if "anyOf" in node:
        options = [errors(schema, value, option) for option in node["anyOf"]]
        if all(options):
            return [f"no alternative matches {value!r}: {options}"]
    kind = node.get("type")
    checks = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }
    if kind is not None and not checks[kind]:
        return [f"expected {kind}, got {value!r}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{value!r} not in {node['enum']}"]
    if "pattern" in node and not re.search(node["pattern"], value):
        return [f"{value!r} does not match {node['pattern']}"]
    found: list[str] = []
    if kind == "object":
        props = node.get("properties", {})
        for key in node.get("required", []):
            if key not in value:
                found.append(f"missing required key {key!r}")
        extra = node.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                found += errors(schema, item, props[key])
            elif extra is False:
                found.append(f"unknown key {key!r}")
            elif isinstance(extra, dict):
                found += errors(schema, item, extra)
    if kind == "array":
        for item in value:
            found += errors(schema, item, node.get("items", {}))
    return found


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == descriptor_schema_json(), (
        "dora-schema.json is stale: run `uv run python scripts/gen_schema.py`"
    )


def test_schema_is_documented() -> None:
    schema = descriptor_schema()
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["title"] and schema["description"]
    for name, definition in schema["$defs"].items():
        assert definition.get("title"), name
        for key, prop in definition.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key} has no description"
            assert prop.get("default", 0) is not None, f"{name}.{key} suggests null"
    assert not re.search(r"https?://", json.dumps(schema["$defs"]))


@pytest.mark.parametrize("path", FIXTURES + EXAMPLES, ids=lambda p: p.name)
def test_real_dataflows_are_valid(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert errors(descriptor_schema(), data) == []


def test_short_and_long_inputs_are_valid_and_typos_are_not() -> None:
    schema = descriptor_schema()
    flow = {
        "nodes": [
            {
                "id": "a",
                "path": "a.py",
                "inputs": {
                    "tick": "dora/timer/millis/100",
                    "x": {"source": "b/out", "queue_size": 3, "queue_policy": "backpressure"},
                },
                "outputs": ["o"],
            }
        ]
    }
    assert errors(schema, flow) == []
    flow["nodes"][0]["ouputs"] = ["o"]
    assert errors(schema, flow) == ["unknown key 'ouputs'"]
    del flow["nodes"][0]["ouputs"]
    flow["nodes"][0]["inputs"]["tick"] = "no-slash"
    assert errors(schema, flow)
    flow["nodes"][0]["inputs"]["tick"] = {"source": "b/out", "queue_policy": "block"}
    assert errors(schema, flow)
