"""``send_output_raw`` follows dora-rs's buffer contract (issue 14 item 5), inline and
in shared memory, in a real node whose samples a real receiver checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.procs import run_dora

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "sample"
CHECKS = [
    "as_buffer-cached",
    "as_memoryview-fresh",
    "refused-2-views",
    "refused-1-view",
    "refused-exporter-of-view",
    "refused-exporter-of-buffer",
    "refused-memoryview-of-buffer",
    "sent-once",
    "as_buffer-after-send",
    "view-after-send",
    "cached-buffer-dead",
    "drop-with-buffer-alive",
    "with-raise-propagates",
    "sendable-after-with-raise",
    "with-open-view-fails",
    "sendable-after-failed-with",
]
FLOW = """
nodes:
  - id: sender
    path: raw_sender.py
    args: "{size}"
    inputs:
      tick: dora/timer/millis/50
    outputs: [out]
  - id: sink
    path: raw_sink.py
    inputs:
      x:
        source: sender/out
        queue_size: 100
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("size", [64, 200_000], ids=["inline", "shared-memory"])
def test_send_output_raw_buffer_contract(tmp_path: Path, size: int) -> None:
    for name in ("raw_sender.py", "raw_sink.py"):
        shutil.copy(HERE / name, tmp_path / name)
    (tmp_path / "flow.yml").write_text(FLOW.format(size=size))
    result = run_dora(["run", str(tmp_path / "flow.yml"), "--stop-after", "60s"], cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "contract: done" in out, out
    assert "BROKEN" not in out, out
    for name in CHECKS:
        assert f"contract: {name} ok" in out, name + "\n" + out
    # exactly the samples that were sent arrived, whole and in order; the ones that
    # were dropped or whose `with` raised before a later send() did not go twice
    got = [line.rsplit("sink: ", 1)[1] for line in out.splitlines() if "sink: n=" in line]
    assert got == [
        f"n=1 len={size} head=b'one\\x00\\x00'",
        f"n=2 len={size} head=b'two\\x00\\x00'",
        f"n=3 len={size} head=b'three'",
        f"n=4 len={size} head=b'four\\x00'",
    ], out
