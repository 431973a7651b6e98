"""Find and remove /dev/shm files a run left behind (e.g. dora-rs 1.1.0's ``<n>.zenoh``).

Only files that appeared during the run and that no live process has open or mapped are
removed, so shared memory of anything else on the machine is left alone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

SHM = Path("/dev/shm")


def snapshot() -> set[str]:
    """Names currently in /dev/shm."""
    try:
        return set(os.listdir(SHM))
    except FileNotFoundError:
        return set()


def _in_use() -> set[str]:
    """/dev/shm paths some process has open or mapped (read from /proc, no extra deps)."""
    used: set[str] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/maps") as maps:
            used.update(
                line.split(None, 5)[5].strip()
                for line in maps
                if "/dev/shm/" in line and len(line.split(None, 5)) == 6
            )
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("/dev/shm/"):
                        used.add(target)
    return {path.removesuffix(" (deleted)") for path in used}


def remove_leftovers(before: set[str]) -> list[str]:
    """Remove files new since ``before`` that nothing uses any more; return their names."""
    new = snapshot() - before
    if not new:
        return []
    used = _in_use()
    removed = []
    for name in sorted(new):
        path = SHM / name
        if str(path) in used or not path.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(name)
    return removed
