"""A C sender counts the messages a restarting receiver misses and reports them as the
Python node API does (issue 13 item 2): the daemon warns once per restart, `dora node
info` and `dora top --once` show the count, and delivered + missed == sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.fault.helpers import write_flow
from tests.fault.missed import check, coordinator_and_daemon, flow_text, run_and_count

pytestmark = pytest.mark.integration


@pytest.mark.timeout(240)
def test_a_c_sender_counts_what_a_restarting_receiver_missed(
    tmp_path: Path, compile_c: CompileC
) -> None:
    pacer = compile_c(["c_pacer.c"], "c_pacer")
    flow = write_flow(tmp_path, flow_text(f"path: {pacer}"))
    with coordinator_and_daemon(tmp_path) as (daemon, env):
        outcome = run_and_count(flow, daemon, env)
    check(outcome)
