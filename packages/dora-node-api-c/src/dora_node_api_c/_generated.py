"""Writing generated build-system files (pkg-config, CMake) into the library cache.

These files hold absolute paths into the cache, so they are produced on the machine that
uses them instead of being shipped. Several processes may ask at once (parallel builds
running ``dora c-api``): each writes a private file and renames it into place, and a file
that already has the right text is left alone so its timestamp does not trigger rebuilds.
"""

from __future__ import annotations

import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "dora-node-api-c"


def package_version() -> str:
    """The installed version of this distribution (``0.0.0`` from a bare source tree)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0"


def write_if_changed(path: Path, text: str) -> None:
    """Atomically make ``path`` hold ``text``, unless it already does."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass  # missing or unreadable: write it
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=path.name, suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
