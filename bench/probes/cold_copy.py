"""Probe: how long one 4 MB copy into shared memory takes, warm and after sleeping 50 ms.

Run: ``uv run python bench/probes/cold_copy.py``. This is the sender-side floor of the
large-message latency rows (bench/RESULTS.md).
"""

import mmap
import os
import time

import pyarrow as pa

SIZE = 4 << 20
ROUNDS = 40


def main() -> None:
    fd = os.memfd_create("dora-probe")
    os.ftruncate(fd, SIZE)
    target = mmap.mmap(fd, SIZE, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE)
    for pause in (0.0, 0.05):
        times = []
        for i in range(ROUNDS):
            source = pa.py_buffer(bytes([i % 250 + 1]) * SIZE)
            time.sleep(pause)
            start = time.perf_counter()
            target[0:SIZE] = source
            times.append((time.perf_counter() - start) * 1e6)
        times.sort()
        print(f"4 MB copy after sleeping {pause * 1000:.0f} ms: p50 {times[ROUNDS // 2]:.0f} us")
    target.close()
    os.close(fd)


if __name__ == "__main__":
    main()
