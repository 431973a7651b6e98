"""The `dora graph` page renders in headless Chromium with no network: a screenshot shows
one filled box per node and the timers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections import deque
from pathlib import Path

import pytest

from dora_cli.graph.svg import COLORS
from tests.authoring.png import Image, decode_png
from tests.procs import run_dora

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not installed (/usr/bin/chromium missing: "
    "`apt-get install chromium`; .ci/run installs it when it can)",
)

FLOW = """\
nodes:
  - id: camera
    path: camera.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [image]
    output_types:
      image: std/media/v1/Image
  - id: detector
    path: detector.py
    inputs:
      image: camera/image
    outputs: [boxes]
  - id: display
    path: display.py
    inputs:
      image: camera/image
      boxes: detector/boxes
"""


def hex_rgb(color: str) -> tuple[int, int, int]:
    value = int(color.removeprefix("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def blobs(image: Image, rgb: tuple[int, int, int], min_size: int) -> list[int]:
    """Sizes of the 4-connected regions of ``rgb`` pixels (±3) with at least min_size."""
    mask = [
        [
            all(abs(c - t) <= 3 for c, t in zip(image.pixel(x, y), rgb, strict=True))
            for x in range(image.width)
        ]
        for y in range(image.height)
    ]
    sizes: list[int] = []
    for y0 in range(image.height):
        for x0 in range(image.width):
            if not mask[y0][x0]:
                continue
            mask[y0][x0] = False
            queue, size = deque([(x0, y0)]), 0
            while queue:
                x, y = queue.popleft()
                size += 1
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < image.width and 0 <= ny < image.height and mask[ny][nx]:
                        mask[ny][nx] = False
                        queue.append((nx, ny))
            if size >= min_size:
                sizes.append(size)
    return sizes


def screenshot(page: Path, out: Path, profile: Path) -> bytes:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # every host name fails to resolve: the page must not need the network
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        f"--screenshot={out}",
        "--window-size=1200,800",
        page.as_uri(),
    ]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=90)
    finally:
        # Chromium leaves helper processes in its session when killed mid-way.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, output
    return out.read_bytes()


@pytest.mark.timeout(120)
def test_page_renders_offline_and_shows_every_node(tmp_path: Path) -> None:
    flow = tmp_path / "dataflow.yml"
    flow.write_text(FLOW)
    result = run_dora(["graph", str(flow)], timeout=60)
    assert result.returncode == 0, result.stderr
    page = tmp_path / "dataflow.html"

    png = screenshot(page, tmp_path / "shot.png", tmp_path / "profile")
    image = decode_png(png)
    assert (image.width, image.height) == (1200, 800)
    white = image.count((255, 255, 255))
    assert image.width * image.height - white > 20_000, "the page looks empty"
    # one region of node fill per node box (text sits inside, the fill surrounds it)
    node_fill = hex_rgb(COLORS["node"][0])
    assert len(blobs(image, node_fill, min_size=1500)) == 3
    timer_fill = hex_rgb(COLORS["timer"][0])
    assert len(blobs(image, timer_fill, min_size=300)) == 1
