"""The node library compiled from its sources with AddressSanitizer and UBSan into a C
sender and a C receiver: 10,000 messages of 8 B .. 64 KiB (and some 2 MiB) across the
shared-memory threshold, no sanitizer report and no leak. The daemon is not sanitized."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import SANITIZE, run_flow, write_flow

pytestmark = pytest.mark.integration

TSAN = ["-fsanitize=thread", "-fno-omit-frame-pointer", "-g", "-O1"]
ASAN_UBSAN = [*SANITIZE, "-g", "-O1"]


def stress_flow(
    directory: Path, tx: Path, rx: Path, env: dict[str, str], acks: dict[str, str]
) -> Path:
    """``tx`` (stress_tx) sending ``data`` to a receiver ``rx`` (queue_size 1000) per value
    of ``acks``, whose ``ack`` output is the sender's input of that key; ``env`` in every
    node's environment."""
    env_lines = "".join(f"      {name}: {json.dumps(value)}\n" for name, value in env.items())
    node_env = f"    env:\n{env_lines}"
    tx_inputs = "".join(f"      {name}: {receiver}/ack\n" for name, receiver in acks.items())
    receivers = "".join(
        f"""  - id: {receiver}
    path: {rx}
    inputs:
      data:
        source: tx/data
        queue_size: 1000
    outputs:
      - ack
{node_env}"""
        for receiver in acks.values()
    )
    return write_flow(
        directory,
        f"""nodes:
  - id: tx
    path: {tx}
    inputs:
{tx_inputs}    outputs:
      - data
{node_env}{receivers}""",
    )


def sender_segments(out: str) -> int:
    """How many shared-memory segments stress_tx had mapped at its end."""
    return int(out.split("stress_tx: ")[-1].split(" shared-memory segments")[0])


@pytest.mark.timeout(300)
def test_10000_messages_under_asan_and_ubsan(tmp_path: Path, compile_c: CompileC) -> None:
    tx = compile_c(["stress_tx.c"], "stress_tx_asan", ASAN_UBSAN, link="sources-node")
    rx = compile_c(["stress_rx.c"], "stress_rx_asan", ASAN_UBSAN, link="sources-node")
    env = {
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
    }
    flow = stress_flow(tmp_path, tx, rx, env, acks={"ack": "rx"})
    code, out = run_flow(flow, cwd=tmp_path, timeout=280)
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert code == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert "stress_rx: 10000 messages, 0 wrong" in out, out
    # one arena plus a dedicated segment per large sample of a block in flight (about a
    # dozen): bounded by the acked window, not growing with the 10,000 messages
    assert 1 <= sender_segments(out) <= 32, out


@pytest.mark.timeout(300)
def test_events_freed_on_another_thread_under_tsan(tmp_path: Path, compile_c: CompileC) -> None:
    """The release path (free_dora_event, ArrowArray.release) runs on a worker thread
    while the main thread waits in dora_next_event: ThreadSanitizer sees no race, every
    message arrives intact, and the sender's pool stays bounded (releases come back)."""
    tx = compile_c(["stress_tx.c"], "stress_tx_tsan", TSAN, link="sources-node")
    rx = compile_c(["threaded_rx.c"], "threaded_rx_tsan", [*TSAN, "-pthread"], link="sources-node")
    env = {"TSAN_OPTIONS": "halt_on_error=1:exitcode=88"}
    flow = stress_flow(tmp_path, tx, rx, env, acks={"ack": "rx"})
    code, out = run_flow(flow, cwd=tmp_path, timeout=280)
    assert "ThreadSanitizer" not in out, out
    assert code == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert "threaded_rx: 10000 messages, 0 wrong" in out, out
    # up to 256 events wait in the worker's ring besides the acked window: more samples in
    # flight than in the single-threaded test, still bounded
    assert 1 <= sender_segments(out) <= 64, out


@pytest.mark.timeout(300)
def test_fan_out_to_two_receivers_under_asan(tmp_path: Path, compile_c: CompileC) -> None:
    """One sender, two receivers of the same output: every shared-memory message goes to
    both with one token and is reused only after both released it."""
    tx = compile_c(["stress_tx.c"], "stress_tx_asan", ASAN_UBSAN, link="sources-node")
    rx = compile_c(["stress_rx.c"], "stress_rx_asan", ASAN_UBSAN, link="sources-node")
    env = {
        "ASAN_OPTIONS": "detect_leaks=1:exitcode=86",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
        "STRESS_ACKS": "2",
    }
    flow = stress_flow(tmp_path, tx, rx, env, acks={"ack1": "rx1", "ack2": "rx2"})
    code, out = run_flow(flow, cwd=tmp_path, timeout=280)
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert code == 0, out
    assert "stress_tx: sent 10000 messages, 0 failures" in out, out
    assert out.count("stress_rx: 10000 messages, 0 wrong") == 2, out
    assert 1 <= sender_segments(out) <= 32, out


@pytest.mark.timeout(300)
def test_one_message_on_two_inputs_under_asan(tmp_path: Path, compile_c: CompileC) -> None:
    """One output read by two inputs of one node: the first event holds the message's
    allocation (event, payload, parameters), the second shares its payload; Arrow arrays
    kept beyond both events still read intact bytes, and nothing leaks or is freed twice,
    inline and in shared memory."""
    tx = compile_c(["twin_tx.c"], "twin_tx_asan", ASAN_UBSAN, link="sources-node")
    rx = compile_c(["twin_rx.c"], "twin_rx_asan", ASAN_UBSAN, link="sources-node")
    env = {
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
    }
    env_lines = "".join(f"      {name}: {json.dumps(value)}\n" for name, value in env.items())
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: tx
    path: {tx}
    outputs:
      - data
    env:
{env_lines}  - id: rx
    path: {rx}
    inputs:
      a:
        source: tx/data
        queue_size: 1000
      b:
        source: tx/data
        queue_size: 1000
    env:
{env_lines}""",
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=280)
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert code == 0, out
    assert "twin_tx: sent 400 messages, 0 failures" in out, out
    assert "twin_rx: a 400, b 400, 0 wrong" in out, out
