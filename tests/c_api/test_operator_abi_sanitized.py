"""The operator helper library's memory rules under AddressSanitizer, LeakSanitizer and
UndefinedBehaviorSanitizer: ``operators/abi_unit.c`` plays runtime and operator around
the library's own sources (reads shared zero-copy, kept past the event, moved children,
sends imported or refused) and checks every producer array is released exactly once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import dora_node_api_c as api
from tests.c_api.helpers import OPERATORS, WARNINGS, gcc

CSRC = Path(api.__file__).parent / "csrc" / "operator"


@pytest.mark.timeout(120)
def test_the_helper_library_releases_every_array_once(tmp_path: Path) -> None:
    program = tmp_path / "abi_unit"
    command = [
        gcc(),
        "-std=c11",
        *WARNINGS,
        "-g",
        "-O1",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        *api.cflags(),
        f"-I{CSRC}",
        "-o",
        str(program),
        str(OPERATORS / "abi_unit.c"),
        *map(str, sorted(CSRC.glob("*.c"))),
        "-pthread",
    ]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    if built.returncode != 0 and "asan" in built.stderr.lower():
        pytest.skip(f"no AddressSanitizer runtime: {built.stderr.strip()[:200]}")
    assert built.returncode == 0, f"{' '.join(command)}\n{built.stderr}"
    ran = subprocess.run(
        [str(program)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "print_stacktrace=1"},
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "abi_unit: all checks passed" in ran.stdout
