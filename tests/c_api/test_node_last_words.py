"""What a node sent its daemon right before exiting is handled, not dropped with the
connection: 2000 log records from a C node that exits at once all reach the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.procs import run_dora

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_log_records_sent_just_before_exit_all_arrive(tmp_path: Path, compile_c: CompileC) -> None:
    node = compile_c(["c_last_words.c"], "c_last_words")
    flow = tmp_path / "dataflow.yml"
    flow.write_text(f"nodes:\n  - id: talker\n    path: {node}\n")
    result = run_dora(["run", str(flow)], cwd=tmp_path, timeout=100)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    seen = {
        line.rsplit("last words ", 1)[1].split()[0]
        for line in out.splitlines()
        if "last words " in line
    }
    assert seen == {str(i) for i in range(2000)}, f"{2000 - len(seen)} records lost"
