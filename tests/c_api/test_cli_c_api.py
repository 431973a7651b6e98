"""`dora c-api`: the flags and directories it prints, and that C code built with them (by
hand, through pkg-config and through CMake's find_package) and a Rust node calling the C
API through FFI link and run without LD_LIBRARY_PATH. Real compiler, real processes; the
libraries are built once per module into a private cache (DORA_C_API_CACHE)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dora_node_api_c import include_dir
from tests.procs import DoraProcess, run_dora

NODE_LIB = "libdora_node_api_c.so"
OPERATOR_LIB = "libdora_operator_api_c.so"

# A program that needs the node library at run time: outside a dataflow the context cannot
# be created, and the program reports dora's own message.
PROBE_C = r"""
#include <stdio.h>
#include "dora_node_api.h"

int main(void) {
  void *context = init_dora_context_from_env();
  if (context == NULL) {
    fprintf(stderr, "no dora context: %s\n", dora_last_error());
    return 3;
  }
  free_dora_context(context);
  return 0;
}
"""

# A minimal operator: exports the ABI's three functions and uses one helper of the
# operator library, so linking it needs `--operator --libs`.
OPERATOR_C = r"""
#include <stddef.h>
#include "operator_api.h"

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = NULL};
  return result;
}

DoraResult_t dora_drop_operator(void *context) {
  (void)context;
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send, void *context) {
  (void)context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  if (event->input != NULL) {
    result.result = dora_send_operator_output(send, "out", (const uint8_t *)"x", 1);
  }
  return result;
}
"""

CMAKE_LISTS = """\
cmake_minimum_required(VERSION 3.16)
project(dora_probe C)
find_package(dora-node-api-c 0.1 CONFIG REQUIRED)
add_executable(probe probe.c)
target_link_libraries(probe PRIVATE dora::node_api_c)
add_library(probe_operator SHARED operator.c)
target_link_libraries(probe_operator PRIVATE dora::operator_api_c)
install(TARGETS probe RUNTIME DESTINATION bin)
"""


@pytest.fixture(scope="module")
def api_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for `dora c-api` with a private library cache."""
    return {"DORA_C_API_CACHE": str(tmp_path_factory.mktemp("c-api-cache"))}


def c_api(args: list[str], env: dict[str, str]) -> str:
    """Run `dora c-api ARGS`, require success, return its stdout."""
    result = run_dora(["c-api", *args], env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def clean_env() -> dict[str, str]:
    """This environment without anything that would let a program find libraries or a
    dataflow by other means than its own rpath."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "DORA_NODE_CONFIG")
    }


def compile_c(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr}"


def assert_probe_fails_cleanly(program: Path) -> None:
    """The probe loads the library through its rpath and reports dora's error message."""
    result = subprocess.run(
        [str(program)], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, (result.returncode, result.stderr)
    message = result.stderr.strip().removeprefix("no dora context:").strip()
    assert result.stderr.startswith("no dora context: ") and message, result.stderr
    assert "DORA_NODE_CONFIG" in message  # it says what is missing


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    (tmp_path / "probe.c").write_text(PROBE_C)
    (tmp_path / "operator.c").write_text(OPERATOR_C)
    return tmp_path


# --- what it prints ---------------------------------------------------------------------


def test_cflags_is_the_include_dir(api_env: dict[str, str]) -> None:
    assert c_api(["--cflags"], api_env) == f"-I{include_dir()}\n"
    assert (include_dir() / "node_api.h").is_file()
    assert c_api(["--include-dir"], api_env) == f"{include_dir()}\n"


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("extra", "library", "name"),
    [([], NODE_LIB, "dora_node_api_c"), (["--operator"], OPERATOR_LIB, "dora_operator_api_c")],
)
def test_libs_and_lib_dir(
    api_env: dict[str, str], extra: list[str], library: str, name: str
) -> None:
    lib_dir = Path(c_api([*extra, "--lib-dir"], api_env).strip())
    assert (lib_dir / library).is_file()
    assert lib_dir.is_relative_to(api_env["DORA_C_API_CACHE"])
    libs = c_api([*extra, "--libs"], api_env).split()
    assert libs[:3] == [f"-L{lib_dir}", f"-Wl,-rpath,{lib_dir}", f"-l{name}"]
    assert "-pthread" in libs


@pytest.mark.timeout(180)
def test_flags_combine_on_one_line_and_directories_follow(api_env: dict[str, str]) -> None:
    combined = c_api(["--cflags", "--libs"], api_env)
    libs = c_api(["--libs"], api_env).strip()
    assert combined == f"-I{include_dir()} {libs}\n"
    lines = c_api(["--libs", "--include-dir", "--lib-dir"], api_env).splitlines()
    assert lines == [libs, str(include_dir()), c_api(["--lib-dir"], api_env).strip()]


def test_nothing_asked_is_a_usage_error(api_env: dict[str, str]) -> None:
    result = run_dora(["c-api"], env=api_env)
    assert result.returncode == 2
    assert "--cflags" in result.stderr and result.stdout == ""


def test_help_shows_examples() -> None:
    result = run_dora(["c-api", "--help"])
    assert result.returncode == 0
    assert "$(dora c-api --cflags --libs)" in result.stdout
    assert "find_package(dora-node-api-c CONFIG REQUIRED)" in result.stdout
    assert "c-api" in run_dora(["--help"]).stdout


@pytest.mark.parametrize(
    ("compiler", "reason"),
    [
        ("false", "failed"),
        # The driver itself removes the output of a failed link.
        ("cc -Wl,--no-such-linker-option", "--no-such-linker-option"),
        ("/nonexistent/dir/cc", "cannot run the C compiler"),
    ],
)
def test_a_failed_build_is_one_clear_error(tmp_path: Path, compiler: str, reason: str) -> None:
    env = {"DORA_C_API_CACHE": str(tmp_path / "cache"), "CC": compiler}
    for args in (["--libs"], ["--cflags", "--libs"], ["--pkg-config-dir"], ["--cmake-dir"]):
        result = run_dora(["c-api", *args], env=env)
        assert result.returncode == 1, result
        assert result.stderr.startswith("error: cannot build dora's C library"), result.stderr
        assert reason in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""  # nothing for a `$(...)` to hand to the compiler


# --- building with it -------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_program_built_with_cflags_libs_runs_without_ld_library_path(
    api_env: dict[str, str], sources: Path
) -> None:
    flags = shlex.split(c_api(["--cflags", "--libs"], api_env))
    compile_c(["cc", "-std=c11", "-Wall", "-Werror", "-o", "probe", "probe.c", *flags], sources)
    assert_probe_fails_cleanly(sources / "probe")


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_an_operator_built_with_operator_flags_loads(
    api_env: dict[str, str], sources: Path
) -> None:
    flags = shlex.split(c_api(["--operator", "--cflags", "--libs"], api_env))
    compile_c(
        [
            *("cc", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-Wl,--no-undefined"),
            *("-o", "liboperator.so", "operator.c", *flags),
        ],
        sources,
    )
    # A fresh process loads it with its helper library found through the rpath alone.
    script = (
        "import ctypes, sys\n"
        "lib = ctypes.CDLL(sys.argv[1])\n"
        "print(all(hasattr(lib, f'dora_{n}') for n in ('init_operator', 'on_event', "
        "'drop_operator')))\n"
    )
    result = subprocess.run(
        [shutil.which("python3") or "python3", "-c", script, str(sources / "liboperator.so")],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.fixture(scope="module")
def pkg_config_path(api_env: dict[str, str]) -> Iterator[Path]:
    yield Path(c_api(["--pkg-config-dir"], api_env).strip())


@pytest.mark.integration
@pytest.mark.timeout(180)
@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="pkg-config is not installed")
def test_pkg_config_files(pkg_config_path: Path, api_env: dict[str, str], sources: Path) -> None:
    assert sorted(p.name for p in pkg_config_path.glob("*.pc")) == [
        "dora-node-api-c.pc",
        "dora-operator-api-c.pc",
    ]
    env = {**os.environ, "PKG_CONFIG_PATH": str(pkg_config_path)}

    def pkg_config(*args: str) -> str:
        result = subprocess.run(
            ["pkg-config", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    flags = pkg_config("--cflags", "--libs", "dora-node-api-c")
    assert flags.split() == c_api(["--cflags", "--libs"], api_env).split()
    operator_libs = pkg_config("--libs", "dora-operator-api-c")
    assert operator_libs.split() == c_api(["--operator", "--libs"], api_env).split()
    assert pkg_config("--modversion", "dora-node-api-c") == pkg_config(
        "--modversion", "dora-operator-api-c"
    )
    compile_c(["cc", "-std=c11", "-o", "probe", "probe.c", *shlex.split(flags)], sources)
    assert_probe_fails_cleanly(sources / "probe")


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
@pytest.mark.parametrize("how", ["CMAKE_PREFIX_PATH", "dora-node-api-c_DIR"])
def test_cmake_find_package(api_env: dict[str, str], sources: Path, how: str) -> None:
    cmake_dir = Path(c_api(["--cmake-dir"], api_env).strip())
    assert (cmake_dir / "dora-node-api-cConfig.cmake").is_file()
    (sources / "CMakeLists.txt").write_text(CMAKE_LISTS)
    build = sources / "build"
    prefix = sources / "installed"
    for command in (
        ["cmake", "-S", ".", "-B", str(build), f"-D{how}={cmake_dir}"],
        ["cmake", "--build", str(build)],
        ["cmake", "--install", str(build), "--prefix", str(prefix)],
    ):
        result = subprocess.run(
            command, cwd=sources, env=clean_env(), capture_output=True, text=True, timeout=240
        )
        assert result.returncode == 0, f"{shlex.join(command)}\n{result.stdout}\n{result.stderr}"
    assert (build / "libprobe_operator.so").is_file()
    assert_probe_fails_cleanly(build / "probe")
    # CMake drops its build-tree rpath on install; the target's own rpath remains.
    assert_probe_fails_cleanly(prefix / "bin" / "probe")


def test_cmake_version_check_refuses_a_newer_request(
    api_env: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    cmake_dir = Path(c_api(["--cmake-dir"], api_env).strip())
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(p C)\n"
        "find_package(dora-node-api-c 99 CONFIG REQUIRED)\n"
    )
    result = subprocess.run(
        ["cmake", "-S", ".", "-B", "build", f"-DCMAKE_PREFIX_PATH={cmake_dir}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "dora-node-api-c" in result.stderr


# --- from Rust, through FFI -------------------------------------------------------------

RUST_NODE = Path(__file__).parent / "rust"


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc is not installed")
def test_a_rust_node_through_ffi_builds_and_runs(api_env: dict[str, str], tmp_path: Path) -> None:
    # What `dora new --lang rust` points to: the C API from Rust, linked with `dora c-api`.
    flow = tmp_path / "rust"
    shutil.copytree(RUST_NODE, flow, ignore=shutil.ignore_patterns("build", "out"))
    env = {
        **api_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    run = DoraProcess(["run", "dataflow.yml"], cwd=flow, env=env)
    try:
        run.wait_for_line("rust node: done after 3 ticks", timeout=240)
        assert run.wait(timeout=60) == 0, run.output
    finally:
        run.kill_tree()
    assert "rust node: tick 1" in run.output
    outside = subprocess.run(
        [str(flow / "build" / "rust_node")],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert outside.returncode == 3 and "DORA_NODE_CONFIG" in outside.stderr, outside
