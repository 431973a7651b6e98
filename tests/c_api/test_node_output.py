"""What C nodes and C operators print reaches dora's output while they run: their stdout
is a pipe, which C stdio would otherwise buffer until the process exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import OPERATORS, interrupt, running, write_flow

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_printf_lines_show_up_before_the_dataflow_ends(tmp_path: Path, compile_c: CompileC) -> None:
    node = compile_c(["c_printer.c"], "c_printer")
    operator = compile_c(
        [OPERATORS / "printer_op.c"], "libprinter_op.so", ["-shared", "-fPIC"], link="operator"
    )
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: printer
    path: {node}
    inputs:
      tick: dora/timer/millis/50
  - id: runtime
    operators:
      - id: op
        shared-library: {operator}
        inputs:
          tick: dora/timer/millis/50
""",
    )
    with running(flow) as dora:
        # both lines come while the nodes wait for more events, long before any exit
        dora.wait_for_line("printer: waiting for events", timeout=60)
        dora.wait_for_line("printer_op: got an input", timeout=60)
        assert "printer: done" not in dora.output
        assert interrupt(dora, timeout=60) in (0, 130), dora.output
        assert "printer: done" in dora.output
