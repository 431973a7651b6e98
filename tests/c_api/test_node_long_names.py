"""Output names on both sides of the C sender's cached frame head: a Data frame starts
with the output's head (array header, "data", the name), kept per output when it fits
`dn_out.head` and written field by field when it does not. A C node sends on outputs
named with 1 .. 1000 bytes (inline, shared memory and Arrow messages, with and without
parameters, then closes them); a Python and a C receiver check every value, parameter,
the order per input and the closing, with the library built normally and, from its
sources, under AddressSanitizer and UBSan."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import dora_node_api_c
from tests.c_api.conftest import CompileC
from tests.c_api.helpers import NODES, SANITIZE, run_flow, write_flow

pytestmark = pytest.mark.integration

NODE_H = Path(dora_node_api_c.__file__).parent / "csrc" / "node" / "node.h"
ROUNDS = 16
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
}


def name_lengths() -> list[int]:
    """LONG_LENS of long_names.h."""
    text = (NODES / "long_names.h").read_text()
    found = re.search(r"LONG_LENS\[\] = \{([^}]*)\}", text)
    assert found, "LONG_LENS not found in long_names.h"
    return [int(n) for n in found.group(1).split(",")]


def output_name(length: int) -> str:
    """long_name() of long_names.h."""
    chars = "abcdefghijklmnopqrstuvwxyz0123456789-_."
    return "".join(
        "/" if i % 16 == 8 and i + 1 < length else chars[(i + length) % len(chars)]
        for i in range(length)
    )


def longest_cached_name() -> int:
    """The longest name whose head fits `dn_out.head` (node.h): a fixarray byte, "data"
    as a fixstr (5 bytes), then the name with its str header (1 byte up to 31, else 2)."""
    found = re.search(r"uint8_t head\[(\d+)\];", NODE_H.read_text())
    assert found, "dn_out.head not found in node.h"
    room = int(found.group(1))
    return max(n for n in range(256) if 6 + (1 if n < 32 else 2) + n <= room)


def test_lengths_straddle_the_cached_head() -> None:
    """The table keeps a name that just fits the cached head and one just over it (and
    the str header widths): this fails when the head's size changes without it."""
    limit = longest_cached_name()
    lengths = name_lengths()
    for needed in (limit - 1, limit, limit + 1, 31, 32, 255, 256):
        assert needed in lengths, (needed, lengths)
    assert max(lengths) >= 200


def long_names_flow(directory: Path, tx: Path, rx: Path, env: dict[str, str]) -> Path:
    outputs = "".join(f"      - {output_name(n)}\n" for n in name_lengths())
    inputs = "".join(
        f"      n{n}:\n        source: tx/{output_name(n)}\n        queue_size: 100\n"
        for n in name_lengths()
    )
    env_block = "    env:\n" + "".join(f"      {k}: {json.dumps(v)}\n" for k, v in env.items())
    env_text = env_block if env else ""
    return write_flow(
        directory,
        f"""nodes:
  - id: tx
    path: {tx}
    outputs:
{outputs}{env_text}  - id: pyrx
    path: py_long_rx.py
    inputs:
{inputs}  - id: crx
    path: {rx}
    inputs:
{inputs}{env_text}""",
        [NODES / "py_long_rx.py"],
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("build", ["library", "asan-ubsan"])
def test_long_output_names_reach_python_and_c(
    tmp_path: Path, compile_c: CompileC, build: str
) -> None:
    if build == "library":
        tx = compile_c(["c_long_tx.c"], "c_long_tx")
        rx = compile_c(["c_long_rx.c"], "c_long_rx")
        env: dict[str, str] = {}
    else:
        flags = [*SANITIZE, "-g", "-O1"]
        tx = compile_c(["c_long_tx.c"], "c_long_tx_asan", flags, link="sources-node")
        rx = compile_c(["c_long_rx.c"], "c_long_rx_asan", flags, link="sources-node")
        env = SANITIZER_ENV
    flow = long_names_flow(tmp_path, tx, rx, env)
    code, out = run_flow(flow, cwd=tmp_path, timeout=280)
    assert "Sanitizer" not in out and "runtime error" not in out, out
    assert code == 0, out
    total = ROUNDS * len(name_lengths())
    assert f"c_long_tx: sent {total} messages, 0 failures" in out, out
    assert f"py_long_rx: {total} messages, 0 wrong" in out, out
    assert f"c_long_rx: {total} messages, 0 wrong" in out, out
