"""Shared-memory segments that a receiver can map without trusting the sender.

A receiver maps a segment it got over ``SCM_RIGHTS``. If the sender could shrink the
file afterwards, reading the mapping past the new end would kill the receiver with
SIGBUS. So segments are created sealable and sealed against shrinking and growing
(``F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL``) once sized, and a receiver maps a
descriptor only when it carries ``F_SEAL_SHRINK`` and is at least the announced size.
"""

from __future__ import annotations

import fcntl
import os
import stat

from dora_message.errors import ProtocolError

SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
REQUIRED_SEALS = fcntl.F_SEAL_SHRINK


def create_sealed(name: str, size: int) -> int:
    """A new memfd of ``size`` bytes whose size can no longer change."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
    except OSError:
        os.close(fd)
        raise
    return fd


def seal_problem(seals: int | None, file_size: int, is_regular: bool, announced: int) -> str | None:
    """Why a received segment may not be mapped (sans-I/O), or None."""
    if not is_regular or seals is None:
        return "it is not a sealable memory file"
    if not seals & REQUIRED_SEALS:
        return "it is not sealed against shrinking (F_SEAL_SHRINK)"
    if announced <= 0 or file_size < announced:
        return f"it holds {file_size} bytes, {announced} were announced"
    return None


def check_received(fd: int, announced: int) -> None:
    """Raise :class:`ProtocolError` unless ``fd`` is safe to map for ``announced`` bytes."""
    try:
        info = os.fstat(fd)
    except OSError as error:
        raise ProtocolError(f"refused a shared-memory segment: {error}") from None
    try:
        seals: int | None = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        seals = None  # not a memfd (EINVAL)
    problem = seal_problem(seals, info.st_size, stat.S_ISREG(info.st_mode), announced)
    if problem is not None:
        raise ProtocolError(f"refused a shared-memory segment: {problem}")
