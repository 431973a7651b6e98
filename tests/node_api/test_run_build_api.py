"""``dora.run`` and ``dora.build`` do what ``dora run`` / ``dora build`` do (issue 14
item 3); ``import dora`` stays light and names the package to install without the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WRITER = """
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        with open("ran.txt", "a") as out:
            out.write("tick\\n")
        break
"""

FLOW = """
nodes:
  - id: writer
    path: writer.py
    build: python make.py
    inputs:
      tick: dora/timer/millis/20
"""


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


def _flow(tmp_path: Path, make: str = "open('built.txt', 'w').write('ok')") -> Path:
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "make.py").write_text(make)
    path = tmp_path / "flow.yml"
    path.write_text(FLOW)
    return path


@pytest.mark.timeout(60)
def test_import_dora_does_not_import_the_cli(tmp_path: Path) -> None:
    result = _python(
        """
        import sys
        import dora
        assert callable(dora.run) and callable(dora.build)
        print(sorted(m for m in sys.modules if m.startswith(("dora_cli", "click"))))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.timeout(120)
def test_dora_run_runs_the_dataflow_and_raises_when_it_fails(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    result = _python(f"import dora; dora.run({str(flow)!r}, stop_after=30)", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "ran.txt").read_text() == "tick\n"

    (tmp_path / "writer.py").write_text("import sys\nfrom dora import Node\nNode()\nsys.exit(3)\n")
    failed = _python(
        f"""
        import dora
        try:
            dora.run({str(flow)!r})
        except RuntimeError as error:
            print("raised:", error)
        """,
        tmp_path,
    )
    assert "raised: `dora run" in failed.stdout, failed.stdout + failed.stderr
    assert "exit code 1" in failed.stdout
    assert "writer" in failed.stderr  # the command said which node failed


@pytest.mark.timeout(120)
def test_dora_build_runs_the_build_commands(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    result = _python(f"import dora; dora.build({str(flow)!r}, force_local=True)", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "built.txt").read_text() == "ok"

    _flow(tmp_path, make="raise SystemExit(4)")
    failed = _python(
        f"""
        import dora
        try:
            dora.build({str(flow)!r}, force_local=True)
        except RuntimeError as error:
            print("raised:", error)
        """,
        tmp_path,
    )
    assert "raised: `dora build" in failed.stdout, failed.stdout + failed.stderr


@pytest.mark.timeout(60)
def test_without_the_cli_run_and_build_name_the_package_to_install(tmp_path: Path) -> None:
    result = _python(
        """
        import sys

        class HideCli:  # as if dora-dataflow (the CLI) were not installed
            def find_spec(self, name, path=None, target=None):
                if name == "dora_cli" or name.startswith("dora_cli."):
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, HideCli())
        import dora
        for call in (lambda: dora.run("flow.yml"), lambda: dora.build("flow.yml")):
            try:
                call()
            except RuntimeError as error:
                print(error)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert all("install the `dora-dataflow` package" in line for line in lines)
    assert "dora.run()" in lines[0] and "dora.build()" in lines[1]
