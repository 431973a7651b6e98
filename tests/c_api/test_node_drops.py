"""A C sender counts the messages a restarting receiver misses and reports them as the
Python node API does (issue 13 item 2): the daemon warns once per restart, `dora node
info` and `dora top --once` show the count, and delivered + missed == sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import SANITIZE
from tests.fault.helpers import write_flow
from tests.fault.missed import check, coordinator_and_daemon, flow_text, run_and_count

pytestmark = pytest.mark.integration


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "asan-ubsan"])
def test_a_c_sender_counts_what_a_restarting_receiver_missed(
    tmp_path: Path, compile_c: CompileC, sanitized: bool
) -> None:
    if sanitized:  # the library from its sources, under AddressSanitizer and UBSan
        flags = [*SANITIZE, "-g", "-O1"]
        pacer = compile_c(["c_pacer.c"], "c_pacer_asan", flags, link="sources-node")
    else:
        pacer = compile_c(["c_pacer.c"], "c_pacer")
    text = flow_text(f"path: {pacer}")
    if sanitized:
        text = text.replace(
            "    outputs: [data]\n",
            "    outputs: [data]\n    env:\n"
            '      ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0:exitcode=86"\n'
            '      UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1:exitcode=87"\n',
            1,
        )
        assert "ASAN_OPTIONS" in text
    flow = write_flow(tmp_path, text)
    with coordinator_and_daemon(tmp_path) as (daemon, env):
        outcome = run_and_count(flow, daemon, env)
    check(outcome)
    assert "Sanitizer" not in outcome.sender_log, outcome.sender_log
    assert "runtime error" not in outcome.sender_log, outcome.sender_log


@pytest.mark.timeout(240)
def test_a_restarting_c_receiver_counts_what_it_never_read(
    tmp_path: Path, compile_c: CompileC
) -> None:
    """The C library as the receiver that leaves: it refuses data, drains its sockets and
    reports what it never handed over (`unread_inputs`); the Python sender counts the
    rest."""
    forgetful = compile_c(["c_forgetful.c"], "c_forgetful")
    flow = write_flow(tmp_path, flow_text("path: nodes/pacer.py", f"path: {forgetful}"))
    with coordinator_and_daemon(tmp_path) as (daemon, env):
        outcome = run_and_count(flow, daemon, env)
    check(outcome)
