"""The node library compiled from its sources with AddressSanitizer and UBSan into a C
sender and a C receiver: 10,000 messages of 8 B .. 64 KiB (and some 2 MiB) across the
shared-memory threshold, no sanitizer report and no leak. The daemon is not sanitized."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.procs import run_dora

pytestmark = pytest.mark.integration

TSAN = ["-fsanitize=thread", "-fno-omit-frame-pointer", "-g", "-O1"]
SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]


@pytest.mark.timeout(300)
def test_10000_messages_under_asan_and_ubsan(tmp_path: Path, compile_c: CompileC) -> None:
    tx = compile_c(["stress_tx.c"], "stress_tx_asan", SANITIZE, link="sources-node")
    rx = compile_c(["stress_rx.c"], "stress_rx_asan", SANITIZE, link="sources-node")
    env = """    env:
      ASAN_OPTIONS: detect_leaks=1:abort_on_error=0:exitcode=86
      UBSAN_OPTIONS: print_stacktrace=1:halt_on_error=1:exitcode=87
"""
    path = tmp_path / "dataflow.yml"
    path.write_text(
        f"""nodes:
  - id: tx
    path: {tx}
    inputs:
      ack: rx/ack
    outputs:
      - data
{env}  - id: rx
    path: {rx}
    inputs:
      data:
        source: tx/data
        queue_size: 1000
    outputs:
      - ack
{env}"""
    )
    result = run_dora(["run", str(path)], cwd=tmp_path, timeout=280)
    out = result.stdout + result.stderr
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert result.returncode == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert "stress_rx: 10000 messages, 0 wrong" in out, out
    segments = int(out.split("stress_tx: ")[-1].split(" shared-memory segments")[0])
    # one arena plus a dedicated segment per large sample of a block in flight (about a
    # dozen): bounded by the acked window, not growing with the 10,000 messages
    assert 1 <= segments <= 32, out


@pytest.mark.timeout(300)
def test_events_freed_on_another_thread_under_tsan(tmp_path: Path, compile_c: CompileC) -> None:
    """The release path (free_dora_event, ArrowArray.release) runs on a worker thread
    while the main thread waits in dora_next_event: ThreadSanitizer sees no race, every
    message arrives intact, and the sender's pool stays bounded (releases come back)."""
    tx = compile_c(["stress_tx.c"], "stress_tx_tsan", TSAN, link="sources-node")
    rx = compile_c(["threaded_rx.c"], "threaded_rx_tsan", [*TSAN, "-pthread"], link="sources-node")
    env = """    env:
      TSAN_OPTIONS: halt_on_error=1:exitcode=88
"""
    path = tmp_path / "dataflow.yml"
    path.write_text(
        f"""nodes:
  - id: tx
    path: {tx}
    inputs:
      ack: rx/ack
    outputs:
      - data
{env}  - id: rx
    path: {rx}
    inputs:
      data:
        source: tx/data
        queue_size: 1000
    outputs:
      - ack
{env}"""
    )
    result = run_dora(["run", str(path)], cwd=tmp_path, timeout=280)
    out = result.stdout + result.stderr
    assert "ThreadSanitizer" not in out, out
    assert result.returncode == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert "threaded_rx: 10000 messages, 0 wrong" in out, out
    segments = int(out.split("stress_tx: ")[-1].split(" shared-memory segments")[0])
    # up to 256 events wait in the worker's ring besides the acked window: more samples in
    # flight than in the single-threaded test, still bounded
    assert 1 <= segments <= 64, out


@pytest.mark.timeout(300)
def test_fan_out_to_two_receivers_under_asan(tmp_path: Path, compile_c: CompileC) -> None:
    """One sender, two receivers of the same output: every shared-memory message goes to
    both with one token and is reused only after both released it."""
    tx = compile_c(["stress_tx.c"], "stress_tx_asan", SANITIZE, link="sources-node")
    rx = compile_c(["stress_rx.c"], "stress_rx_asan", SANITIZE, link="sources-node")
    env = """    env:
      ASAN_OPTIONS: detect_leaks=1:exitcode=86
      UBSAN_OPTIONS: print_stacktrace=1:halt_on_error=1:exitcode=87
      STRESS_ACKS: "2"
"""
    receivers = "".join(
        f"""  - id: rx{i}
    path: {rx}
    inputs:
      data:
        source: tx/data
        queue_size: 1000
    outputs:
      - ack
{env}"""
        for i in (1, 2)
    )
    path = tmp_path / "dataflow.yml"
    path.write_text(
        f"""nodes:
  - id: tx
    path: {tx}
    inputs:
      ack1: rx1/ack
      ack2: rx2/ack
    outputs:
      - data
{env}{receivers}"""
    )
    result = run_dora(["run", str(path)], cwd=tmp_path, timeout=280)
    out = result.stdout + result.stderr
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert result.returncode == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert out.count("stress_rx: 10000 messages, 0 wrong") == 2, out
    segments = int(out.split("stress_tx: ")[-1].split(" shared-memory segments")[0])
    assert 1 <= segments <= 32, out
