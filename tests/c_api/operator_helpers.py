"""Compiling the C operators of ``operators/`` and writing the small dataflows around them,
for the operator tests (``test_operator_*.py``). Real compiler (gcc, warnings as errors),
real ``dora run`` processes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import dora_node_api_c as api

OPERATORS = Path(__file__).parent / "operators"
WARNINGS = ("-Wall", "-Wextra", "-Werror")

# A Python node printing what it receives, one line per event:
# `sink: <input> <text>` (UInt8 payloads as text, other arrays as Python lists).
SINK = """from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        value = event["value"]
        if str(value.type) == "uint8":
            shown = bytes(value.to_pylist()).decode()
        else:
            shown = value.to_pylist()
        print(f"sink: {event['id']} {shown}", flush=True)
    else:
        print(f"sink: event {event['type']} {event.get('id')}", flush=True)
"""


def gcc() -> str:
    """The C compiler the operators are built with; skips the test when there is none."""
    found = shutil.which("gcc")
    if not found:
        pytest.skip("no gcc")
    return found


def compile_operator(name: str, directory: Path, *, link: bool = True) -> Path:
    """``operators/<name>.c`` as ``directory/build/lib<name>.so`` (so ``shared-library:
    build/<name>`` finds it). ``link=False`` builds it as dora-rs builds its C operators:
    ``-shared`` without the helper library, whose functions the runtime then provides."""
    build = directory / "build"
    build.mkdir(parents=True, exist_ok=True)
    output = build / f"lib{name}.so"
    command = [gcc(), *WARNINGS, "-O1", "-g", "-shared", "-fPIC", *api.cflags()]
    command += ["-o", str(output), str(OPERATORS / f"{name}.c")]
    if link:
        command += api.libs("operator")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return output


def write_files(directory: Path, files: dict[str, str]) -> None:
    """Write ``{name: text}`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)


def sink_lines(lines: list[str], input_id: str) -> list[str]:
    """The payloads the sink printed for ``input_id``, in order."""
    marker = f"sink: {input_id} "
    return [line.split(marker, 1)[1] for line in lines if marker in line]
