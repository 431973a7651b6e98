"""Creating files and folders only their owner can read: node logs and recordings.

Logs and recordings hold whatever the nodes printed or sent (camera frames, credentials
a node logged by mistake), so they get the modes of the coordinator's store and token:
files 0600, folders 0700. The modes are given at creation *and* enforced with
``fchmod``/``chmod`` afterwards, because a umask only removes bits (a 0077 umask is
fine, but a 0 umask would leave 0666 files) and an existing file keeps its old mode.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dirs(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p path``; every folder it creates, and ``path`` itself, is made 0700.

    Folders that already existed above ``path`` (the user's project folder) are left alone.
    """
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for created in [*missing, path]:
        # an already existing ``path`` may be someone else's (then chmod fails): leave it
        with contextlib.suppress(OSError):
            if created.stat().st_uid == os.getuid():
                os.chmod(created, DIR_MODE)
    return path


def open_private(
    path: str | os.PathLike[str], *, append: bool = False, buffering: int = -1
) -> IO[bytes]:
    """Open ``path`` for writing in binary mode, created 0600 (truncated unless
    ``append``); an existing file is tightened to 0600 too. A symlink is not followed:
    whoever can write the folder could otherwise aim our writes at another file.
    ``buffering`` is :func:`open`'s (0 for callers that buffer themselves)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "ab" if append else "wb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise
