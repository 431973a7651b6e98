"""Creating files and folders only their owner can read (node logs and recordings), and
reading such files (the token, the daemon's descriptor file).

Logs and recordings hold whatever the nodes printed or sent (camera frames, credentials
a node logged by mistake), so they get the modes of the coordinator's store and token:
files 0600, folders 0700. The modes are given at creation *and* enforced with
``fchmod``/``chmod`` afterwards, because a umask only removes bits (a 0077 umask is
fine, but a 0 umask would leave 0666 files) and an existing file keeps its old mode.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO

from dora_message.errors import DoraError
from dora_message.peer import uid_allowed

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


class NotPrivate(DoraError):
    """A file that :func:`read_private` refused; the message says why, after the path."""


def read_private(
    path: str | os.PathLike[str], max_bytes: int, *, allow_root: bool = False
) -> bytes:
    """The bytes of ``path``, a file that must be only its owner's secret: a regular file
    (a FIFO would block, a device is not a secret), not reached through a symlink in its
    last component, owned by us (or root when ``allow_root``), unreadable by group and
    others, and at most ``max_bytes``. The checks run on the opened descriptor, so the
    file checked is the file read. Opening errors are ``os.open``'s ``OSError``; a refusal
    is ``NotPrivate``, whose message continues a sentence starting with the path."""
    # O_NONBLOCK: opening a FIFO must not hang; it is refused just below
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotPrivate("is not a regular file")
        if not uid_allowed(info.st_uid, os.geteuid(), allow_root):
            raise NotPrivate(f"belongs to another user (uid {info.st_uid})")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise NotPrivate(f"can be read by others; run `chmod 600 {path}`")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise NotPrivate(f"is over {max_bytes} B")
    return data
