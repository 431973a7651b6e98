"""Compiling C++ against dora's headers and libraries, and running small dataflows, for the
C++ tests (``test_cxx_*.py``). Real compiler, real ``dora run`` processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import dora_node_api_c as api

HERE = Path(__file__).parent
CXX_SOURCES = HERE / "cxx"
ROOT = HERE.parents[1]
WARNINGS = ("-Wall", "-Wextra", "-Werror")
# What careful C++ projects turn on: the wrapper must not make their builds noisy.
STRICT = (
    *WARNINGS,
    "-Wpedantic",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wshadow",
    "-Wold-style-cast",
    "-Wcast-qual",
)
SANITIZE = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)


def cxx_compiler() -> str:
    """The system C++ compiler (CXX, else c++ or g++); skips the test when there is none."""
    found = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not found:
        pytest.skip("no C++ compiler")
    return found


def compile_cxx(
    sources: Sequence[Path],
    output: Path,
    *,
    std: str = "c++17",
    library: api.LibraryKind | None = "node",
    shared: bool = False,
    sanitize: bool = False,
) -> Path:
    """Compile and link ``sources`` into ``output`` with warnings as errors; the compiler's
    message is the assertion's text when it fails. ``sanitize``: AddressSanitizer (leaks
    included) and UndefinedBehaviorSanitizer, any finding ending the program non-zero."""
    command = [cxx_compiler(), f"-std={std}", *WARNINGS, "-O1", "-g", *api.cflags()]
    if sanitize:
        command += SANITIZE
    if shared:
        command += ["-shared", "-fPIC"]
    command += ["-o", str(output), *map(str, sources)]
    if library is not None:
        command += api.libs(library)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return output


def dora_env() -> dict[str, str]:
    """The environment for ``dora`` commands: ``dora`` itself (for ``build:`` lines calling
    ``dora c-api``) is on PATH, next to the interpreter running the tests."""
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def run_output(result: subprocess.CompletedProcess[str]) -> str:
    """What ``dora run`` printed: the CLI's and the nodes' lines, both streams."""
    return result.stdout + result.stderr
