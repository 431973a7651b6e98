"""Every public header compiles as C++17 and C++20 with warnings as errors (the C ones also
as pedantic C11), and the C++ wrapper's library-free parts behave (wrapper_unit.cc)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import dora_node_api_c as api
from tests.c_api.helpers import (
    CXX_SOURCES,
    ROOT,
    STRICT,
    WARNINGS,
    compile_cxx,
    cxx_compiler,
)

C_HEADERS = (
    "node_api.h",
    "dora_node_api.h",
    "operator_api.h",
    "operator_types.h",
    "arrow_c_data.h",
)
CXX_HEADERS = ("dora_node_api.hpp", "dora_operator_api.hpp")
STANDARDS = ("c++17", "c++20")


def syntax_check(compiler: str, language: str, flags: list[str], text: str) -> None:
    command = [compiler, "-x", language, *flags, *api.cflags(), "-fsyntax-only", "-"]
    result = subprocess.run(command, input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} <<< {text!r}\n{result.stderr}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("std", STANDARDS)
@pytest.mark.parametrize("header", C_HEADERS + CXX_HEADERS)
def test_header_compiles_as_cxx(header: str, std: str) -> None:
    syntax_check(cxx_compiler(), "c++", [f"-std={std}", *WARNINGS], f'#include "{header}"\n')


@pytest.mark.timeout(60)
@pytest.mark.parametrize("std", STANDARDS)
def test_all_headers_together_compile_as_cxx(std: str) -> None:
    # In one translation unit and in both orders: include guards, no clashing names.
    headers = C_HEADERS + CXX_HEADERS
    text = "".join(f'#include "{h}"\n' for h in (*headers, *reversed(headers)))
    syntax_check(cxx_compiler(), "c++", [f"-std={std}", *STRICT], text)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("header", C_HEADERS)
def test_c_header_compiles_as_pedantic_c11(header: str) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        pytest.skip("no C compiler")
    syntax_check(compiler, "c", ["-std=c11", *WARNINGS, "-pedantic"], f'#include "{header}"\n')


@pytest.mark.timeout(120)
@pytest.mark.parametrize("std", STANDARDS)
def test_wrapper_unit_checks_pass(std: str, tmp_path: Path) -> None:
    # Spans, ArrowData and Params need no dataflow: no library is linked.
    program = compile_cxx(
        [CXX_SOURCES / "wrapper_unit.cc"], tmp_path / "wrapper_unit", std=std, library=None
    )
    result = subprocess.run([program], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout


# The C++ programs of the dataflow tests and of the examples (built as C++17 there).
PROGRAMS = sorted(
    [p for p in CXX_SOURCES.glob("*.cc") if not p.name.startswith(("wrapper_unit", "mixed_std"))]
    + list((ROOT / "examples").glob("*/*.cc"))
)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("std", STANDARDS)
@pytest.mark.parametrize("source", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_programs_compile_warning_free_under_both_standards(source: Path, std: str) -> None:
    # Every wrapper template they instantiate, under C++17's Span and C++20's std::span.
    syntax_check(
        cxx_compiler(),
        "c++",
        [f"-std={std}", *STRICT],
        source.read_text(),
    )


@pytest.mark.timeout(120)
def test_cxx17_and_cxx20_files_mix_in_one_program(tmp_path: Path) -> None:
    # Span is std::span in one file and dora's own in the other: an inline namespace per
    # choice keeps the two copies of the wrapper's functions apart in the linked program.
    objects = []
    for source, std in (("mixed_std_part.cc", "c++17"), ("mixed_std_main.cc", "c++20")):
        obj = tmp_path / f"{source}.o"
        command = [cxx_compiler(), f"-std={std}", *WARNINGS, *api.cflags(), "-c", "-o", str(obj)]
        result = subprocess.run(
            [*command, str(CXX_SOURCES / source)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        objects.append(obj)
    if shutil.which("nm"):
        names = [
            subprocess.run(["nm", "-C", str(o)], capture_output=True, text=True).stdout
            for o in objects
        ]
        assert "dora::own_span::ArrowData" in names[0]
        assert "dora::std_span::ArrowData" in names[1]
    program = tmp_path / "mixed"
    link = subprocess.run(
        [cxx_compiler(), "-o", str(program), *map(str, objects)], capture_output=True, text=True
    )
    assert link.returncode == 0, link.stderr
    result = subprocess.run([program], capture_output=True, text=True, timeout=30, check=False)
    assert result.stdout.strip() == "mixed standards: 7 24", result.stderr
