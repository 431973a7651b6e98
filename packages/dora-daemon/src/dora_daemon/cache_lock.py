"""An inter-process lock on a cache entry, so two ``dora build`` runs never fill it at once.

POSIX ``flock`` on a ``.lock`` file next to the entry, polled without blocking so that
cancelling the waiting task is always safe. Each holder opens the file itself, and flock
locks belong to the open file, so two tasks of one process exclude each other too. Where
``fcntl`` does not exist (not POSIX) there is no locking.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.05


@asynccontextmanager
async def cache_lock(path: Path) -> AsyncIterator[None]:
    """Hold the lock file ``path`` (created if missing) for the body of the ``async with``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(_POLL_SECONDS)  # someone else is filling the entry
        yield
    finally:
        os.close(fd)  # closing releases the flock
