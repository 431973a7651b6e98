"""Checks every 16 MB frame in place: the array is a view of shared memory, not a copy."""

import time

import pyarrow.compute as pc

from dora import Node

node = Node()
frames = 0
for event in node:
    if event["type"] == "INPUT":
        meta = event["metadata"]
        pixels = event["value"]
        expected = meta["frame"] % 256
        assert len(pixels) == meta["height"] * meta["width"] * 4
        bounds = pc.min_max(pixels).as_py()
        assert bounds == {"min": expected, "max": expected}, "frame corrupted"
        latency_ms = (time.time() - meta["timestamp"].timestamp()) * 1000
        print(
            f"frame {meta['frame']}: {pixels.nbytes / 1e6:.1f} MB, {latency_ms:.2f} ms after send"
        )
        frames += 1
print(f"consumer: {frames} frames intact")
