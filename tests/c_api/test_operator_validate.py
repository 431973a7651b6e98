"""``dora validate`` accepts what ``dora run`` runs (several operators, Python and shared
library mixed, a restart policy on the runtime node) and rejects a missing library with
the very error ``dora run`` gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.helpers import mixed_flow
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


@pytest.mark.timeout(60)
def test_validate_accepts_the_mixed_shared_library_dataflow(tmp_path: Path) -> None:
    flow = mixed_flow(tmp_path)
    text = flow.read_text().replace(
        "  - id: rt\n", "  - id: rt\n    restart_policy: on-failure\n    max_restarts: 3\n"
    )
    flow.write_text(text)
    result = run_dora(["validate", str(flow)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Descriptor config OK." in result.stdout
    assert "warning" not in result.stderr


@pytest.mark.timeout(60)
def test_a_missing_library_is_refused_alike_by_validate_and_run(tmp_path: Path) -> None:
    flow = mixed_flow(tmp_path)
    flow.write_text(flow.read_text().replace("build/relay", "build/absent"))
    validated = run_dora(["validate", str(flow)], cwd=tmp_path)
    ran = run_dora(["run", str(flow)], cwd=tmp_path)
    assert validated.returncode == 1, validated.stdout + validated.stderr
    assert ran.returncode == 1, ran.stdout + ran.stderr
    expected = [
        f"error: {flow}: nodes[0].operators[0].shared-library: node `rt`: operator `c`: "
        f"shared library `{tmp_path.resolve() / 'build' / 'libabsent.so'}` does not exist "
        "(build it first: `shared-library: build/operator` means build/liboperator.so)"
    ]
    assert error_lines(validated.stderr) == expected, validated.stderr
    assert error_lines(ran.stderr) == expected, ran.stderr


@pytest.mark.timeout(60)
def test_a_library_that_build_makes_is_only_a_warning_for_validate(tmp_path: Path) -> None:
    flow = mixed_flow(tmp_path)
    flow.write_text(
        flow.read_text().replace(
            "        shared-library: build/relay\n",
            "        shared-library: build/later\n        build: make later\n",
        )
    )
    result = run_dora(["validate", str(flow)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "build/liblater.so` does not exist yet" in result.stderr
    assert "`build:` should create it" in result.stderr
