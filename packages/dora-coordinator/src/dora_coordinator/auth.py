"""The optional shared token that guards the control plane.

The token lives in a file readable only by its owner (mode 0600). The coordinator
creates the file with a fresh random token when it does not exist, and refuses a file
that group or others can read (the reader, shared with the daemon and the CLI, is
:mod:`dora_message.token_file`). Clients send ``Authorization: Bearer <token>``; the
coordinator compares in constant time (:func:`hmac.compare_digest`). The token is never
logged and never put in an error message.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from dora_message.token_file import TokenFileError, read_token_file

TOKEN_BYTES = 32
BEARER = "Bearer "

__all__ = [
    "TokenFileError",
    "bearer_header",
    "bearer_ok",
    "load_or_create_token",
    "read_token_file",
]


def load_or_create_token(path: Path) -> str:
    """The token in ``path``; a new random one is written (0600) if the file is missing."""
    path = Path(path)
    if not path.exists():
        token = secrets.token_hex(TOKEN_BYTES)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise TokenFileError(f"cannot create token file {path}: {error.strerror}") from None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return read_token_file(path)  # another process created it meanwhile
        except OSError as error:
            raise TokenFileError(f"cannot create token file {path}: {error.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        return token
    return read_token_file(path)


def bearer_ok(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    if header is None or not header.startswith(BEARER):
        return False
    offered = header[len(BEARER) :].strip().encode()
    return hmac.compare_digest(offered, token.encode())


def bearer_header(token: str) -> dict[str, str]:
    """The header a client sends."""
    return {"Authorization": BEARER + token}
