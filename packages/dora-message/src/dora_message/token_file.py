"""Reading the control-plane token file: the one reader the coordinator, daemon and CLI share.

The token is a password for the whole cluster, so the file must be the caller's own secret:
a regular file (a FIFO would block the open, a device is not a secret), reached without
following a symlink in its last component (a link can point at someone else's file or be
swapped after the check), owned by the calling user and readable by nobody else (mode
0600 or stricter). The checks run on the opened descriptor, so the file that was checked is
the file that is read. The token itself never appears in an error message.
"""

from __future__ import annotations

import os
from pathlib import Path

from dora_message.errors import DoraError
from dora_message.private_files import NotPrivate, read_private

MAX_TOKEN_FILE_BYTES = 4096  # a token is 64 hex characters; anything far larger is not one


class TokenFileError(DoraError):
    """The token file cannot be used; the message says why and names the file."""


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in ``path``, refusing symlinks, non-regular files, other owners and files
    that group or others can read."""
    path = Path(path)
    try:
        data = read_private(path, MAX_TOKEN_FILE_BYTES)
    except FileNotFoundError:
        raise TokenFileError(f"token file {path} does not exist") from None
    except NotPrivate as refusal:
        raise TokenFileError(f"token file {path} {refusal}") from None
    except OSError as error:
        if path.is_symlink():
            raise TokenFileError(f"token file {path} is a symlink; give the file itself") from None
        raise TokenFileError(f"cannot open token file {path}: {error.strerror}") from None
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise TokenFileError(f"token file {path} is not UTF-8 text") from None
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    return token
