"""Which operators the runtime hosts, from its environment.

``DORA_OPERATORS`` (set by this daemon): a JSON list of ``{"id": ..., "python": FILE}``
or ``{"id": ..., "shared-library": FILE}`` with absolute, checked paths.
``DORA_OPERATOR`` (one Python operator, as older daemons set it) and dora-rs's
``DORA_RUNTIME_CONFIG`` (``{node, operators: [...]}``, paths relative to the working
directory) are understood too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dora_message.constants import ENV_NODE_CONFIG, ENV_OPERATOR, ENV_OPERATORS, ENV_RUNTIME_CONFIG
from dora_message.shared_library import library_file
from dora_message.topics import DEFAULT_OPERATOR_ID

OperatorKind = Literal["python", "shared-library"]


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """One operator of the runtime node."""

    id: str
    kind: OperatorKind
    path: str


def _entry(raw: Mapping[str, Any], base: Path) -> OperatorSpec:
    op_id = raw.get("id") or DEFAULT_OPERATOR_ID
    python = raw.get("python")
    if isinstance(python, Mapping):
        python = python.get("source")
    if isinstance(python, str) and python:
        return OperatorSpec(str(op_id), "python", str(base / Path(python).expanduser()))
    library = raw.get("shared-library") or raw.get("shared_library")
    if isinstance(library, str) and library:
        return OperatorSpec(str(op_id), "shared-library", str(library_file(library, base)))
    raise RuntimeError(f"operator `{op_id}`: no `python` or `shared-library` in {dict(raw)!r}")


def operator_specs(environ: Mapping[str, str] | None = None) -> list[OperatorSpec]:
    """The operators to host, in descriptor order; raises ``RuntimeError`` when the
    environment names none. Reading ``DORA_RUNTIME_CONFIG`` also sets
    ``DORA_NODE_CONFIG`` from it when that is missing (``environ`` is ``os.environ``)."""
    env = os.environ if environ is None else environ
    base = Path.cwd()
    if raw := env.get(ENV_OPERATORS):
        entries = json.loads(raw)
    elif raw := env.get(ENV_OPERATOR):
        entries = [json.loads(raw)]
    elif raw := env.get(ENV_RUNTIME_CONFIG):
        import yaml  # JSON is YAML too

        runtime = yaml.safe_load(raw) or {}
        if "node" in runtime and ENV_NODE_CONFIG not in env and environ is None:
            os.environ[ENV_NODE_CONFIG] = json.dumps(runtime["node"])
        entries = runtime.get("operators") or []
    else:
        raise RuntimeError(f"none of {ENV_OPERATORS}, {ENV_OPERATOR}, {ENV_RUNTIME_CONFIG} is set")
    if not isinstance(entries, list) or not entries:
        raise RuntimeError("the runtime node has no operators")
    specs = [_entry(entry, base) for entry in entries]
    ids = [spec.id for spec in specs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuntimeError(f"duplicate operator ids: {', '.join(duplicates)}")
    return specs
