"""`dora new --lang c|cxx` projects and `examples/c-dataflow`: generated, built by their
`build:` lines (system compiler, flags from `dora c-api`) and run with `dora run`; and the
refusal of `--lang rust`. The C libraries are built once per module into a private cache."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from dora_templates import LANGUAGES, Variables, render

from dora_node_api_c import include_dir
from tests.procs import DoraProcess, run_dora, wait_gone

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "c-dataflow"

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")
needs_cxx_templates = pytest.mark.skipif(
    "cxx" not in LANGUAGES, reason="the C++ templates (dora_templates/cxx) are not there yet"
)


@pytest.fixture(scope="module")
def build_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`dora` of this environment first on PATH (the `build:` lines call `dora c-api`) and
    a private library cache."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DORA_C_API_CACHE": str(tmp_path_factory.mktemp("c-api-cache")),
    }


def run_to_end(args: list[str], cwd: Path, env: dict[str, str], needle: str) -> DoraProcess:
    """Run `dora ARGS`, wait for a line containing NEEDLE and for a clean exit, and check
    that no node process outlives it."""
    run = DoraProcess(args, cwd=cwd, env=env)
    try:
        run.wait_for_line(needle, timeout=240)
        nodes = run.descendants()
        code = run.wait(timeout=120)
        assert code == 0, run.output
        assert not wait_gone(nodes, timeout=10), "node processes outlived `dora run`"
    finally:
        run.kill_tree()
    return run


def create(tmp_path: Path, *args: str) -> Path:
    """`dora new ARGS` in TMP_PATH; the project's directory (the NAME, spaces as `-`)."""
    result = run_dora(["new", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / args[0].replace(" ", "-")


# --- what is generated -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "dataflow",
            [
                "README.md",
                "counter/node.c",
                "dataflow.yml",
                "sink/node.c",
                "transform/operator.c",
            ],
        ),
        ("node", ["README.md", "dataflow.yml", "node.c"]),
    ],
)
def test_c_templates_files_and_no_paths_of_this_installation(
    kind: str, expected: list[str]
) -> None:
    files = render("c", kind, Variables("my-thing", "my_thing", "unused"))
    assert sorted(files) == expected
    for path, text in files.items():
        assert "{{" not in text, path
        for ours in (str(ROOT), str(include_dir()), ".cache/dora"):
            assert ours not in text, (path, ours)
    assert "$(dora c-api --cflags --libs)" in files["dataflow.yml"]


def test_new_c_prints_next_steps(tmp_path: Path) -> None:
    result = run_dora(["new", "c-flow", "--lang", "c"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Created new C dataflow `c-flow` at ./c-flow" in result.stdout
    assert "dora run dataflow.yml" in result.stdout
    node = run_dora(["new", "my cam", "--kind", "node", "--lang", "c"], cwd=tmp_path)
    assert node.returncode == 0, node.stderr
    assert "Created new C node `my-cam` at ./my-cam" in node.stdout
    assert "id: my_cam" in (tmp_path / "my-cam" / "dataflow.yml").read_text()


def test_new_rust_points_to_the_c_api_through_ffi(tmp_path: Path) -> None:
    for kind in ("dataflow", "node"):
        result = run_dora(["new", "proj", "--lang", "rust", "--kind", kind], cwd=tmp_path)
        assert result.returncode == 1
        text = " ".join(result.stderr.split())
        assert f"cannot create a Rust {kind}" in text
        assert "no Rust node API" in text and "FFI" in text
        assert "dora c-api --cflags --libs" in text
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "proj").exists()


# --- built and run ---------------------------------------------------------------------


@needs_cc
@pytest.mark.integration
@pytest.mark.timeout(360)
def test_new_c_dataflow_builds_and_runs_by_itself(
    tmp_path: Path, build_env: dict[str, str]
) -> None:
    project = create(tmp_path, "c-flow", "--lang", "c")
    run = run_to_end(["run", "dataflow.yml"], project, build_env, "sink: received 20 messages")
    assert "sink: message: 1 doubled is 2" in run.output
    assert "sink: message: 20 doubled is 40" in run.output
    assert "transform: saw 20 counts" in run.output
    assert (project / "build" / "libdoubler.so").is_file()


@needs_cc
@pytest.mark.integration
@pytest.mark.timeout(360)
def test_new_c_node_builds_and_runs(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = create(tmp_path, "my node", "--kind", "node", "--lang", "c")
    run = DoraProcess(["run", "dataflow.yml", "--stop-after", "3s"], cwd=project, env=build_env)
    try:
        run.wait_for_line("my_node: input `tick`", timeout=240)
        run.wait_for_line("my_node: stop received", timeout=60)
        run.wait_for_line("my_node: handled", timeout=60)
        nodes = run.descendants()
        assert run.wait(timeout=60) == 0, run.output
        assert not wait_gone(nodes, timeout=10), "node processes outlived `dora run`"
    finally:
        run.kill_tree()
    assert "node `my_node` of dataflow" in run.output


@needs_cc
@needs_cxx_templates
@pytest.mark.integration
@pytest.mark.timeout(480)
@pytest.mark.parametrize("kind", ["dataflow", "node"])
def test_new_cxx_project_builds_and_runs(
    tmp_path: Path, build_env: dict[str, str], kind: str
) -> None:
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler (c++)")
    created = run_dora(["new", "cxx-proj", "--lang", "cxx", "--kind", kind], cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert f"Created new C++ {kind} `cxx-proj`" in created.stdout
    project = tmp_path / "cxx-proj"
    # The C++ templates' output is theirs to choose: the run must build, run and end
    # cleanly (--stop-after ends a dataflow that runs until stopped).
    run = DoraProcess(["run", "dataflow.yml", "--stop-after", "5s"], cwd=project, env=build_env)
    try:
        assert run.wait(timeout=400) == 0, run.output
    finally:
        run.kill_tree()


@needs_cc
@pytest.mark.integration
@pytest.mark.timeout(360)
def test_example_c_dataflow_runs(tmp_path: Path, build_env: dict[str, str]) -> None:
    # A copy keeps build/ and out/ out of the checkout; run from another directory, since
    # the build lines must run in the dataflow's own directory.
    example = tmp_path / "c-dataflow"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("build", "out"))
    run = run_to_end(
        ["run", str(example / "dataflow.yml")],
        tmp_path,
        build_env,
        "[c sink] received 20 messages, finished",
    )
    assert "[c sink] received `counter`: The current counter value is 20" in run.output
    assert "[c node] sent 20 ticks, finished" in run.output


@needs_cc
@pytest.mark.integration
@pytest.mark.timeout(360)
def test_build_lines_find_dora_when_it_is_not_on_path(
    tmp_path: Path, build_env: dict[str, str]
) -> None:
    # dora started by its full path (no activated environment): the build line's
    # `dora c-api` still resolves, to the dora that runs the build.
    project = create(tmp_path, "lonely", "--kind", "node", "--lang", "c")
    cc_dir = str(Path(shutil.which("cc") or "/usr/bin/cc").parent)
    env = {**build_env, "PATH": os.pathsep.join(dict.fromkeys([cc_dir, "/usr/bin", "/bin"]))}
    result = run_dora(["build", "dataflow.yml"], cwd=project, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "build" / "lonely").is_file()
