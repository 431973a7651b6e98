"""Compile the C libraries from the shipped sources into a cache, once per source version.

Why on first use and not in a platform wheel: the package stays one pure-Python wheel that
``uv sync`` installs anywhere without a compiler, and whoever links against these libraries
compiles their own node anyway, so a C compiler is there when it is needed. The cache key
is a hash of the sources, headers, compiler and flags: an upgrade or a different compiler
builds afresh, and two processes building at once each write a private file and rename
it into place (the last rename wins, both results are equal).

Layout of the shipped sources: ``csrc/common/*.c`` go into both libraries,
``csrc/node/*.c`` into ``libdora_node_api_c.so``, ``csrc/operator/*.c`` into
``libdora_operator_api_c.so``.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Literal

LibraryKind = Literal["node", "operator"]
LIBRARY_NAMES: dict[LibraryKind, str] = {
    "node": "dora_node_api_c",
    "operator": "dora_operator_api_c",
}
ENV_CACHE = "DORA_C_API_CACHE"
ENV_CC = "CC"

_HERE = Path(__file__).parent
_CSRC = _HERE / "csrc"
# -fno-plt: a libc call goes through the GOT straight away, without touching the PLT page;
# -fno-semantic-interposition: calls between our own functions are direct, not via the GOT
_FLAGS = (
    "-std=c11",
    "-O2",
    "-g",
    "-fPIC",
    "-fno-plt",
    "-fno-semantic-interposition",
    "-shared",
    "-Wall",
    "-Wextra",
    "-pthread",
)
# sorted by name, the hot sections group each message path (csrc/common/dn_buf.h, DN_RECV)
_LINK = ("-pthread", "-Wl,--sort-section=name")


class BuildError(RuntimeError):
    """The C library could not be compiled (no compiler, or the compiler failed)."""


def include_dir() -> Path:
    """The directory holding the public headers."""
    return _HERE / "include"


def _sources(kind: LibraryKind) -> list[Path]:
    return sorted((_CSRC / "common").glob("*.c")) + sorted((_CSRC / kind).glob("*.c"))


def _compiler() -> list[str]:
    cc = os.environ.get(ENV_CC) or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BuildError("no C compiler found: install gcc or clang (or set CC)")
    return shlex.split(cc)


def _cache_root() -> Path:
    configured = os.environ.get(ENV_CACHE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dora" / "c-api"


def _key(kind: LibraryKind, compiler: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(" ".join((*compiler, *_FLAGS, kind)).encode())
    for path in sorted((_CSRC).rglob("*")) + sorted(include_dir().glob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(_HERE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def library(kind: LibraryKind = "node") -> Path:
    """The compiled shared library of ``kind``, built into the cache when missing."""
    compiler = _compiler()
    directory = _cache_root() / _key(kind, compiler)
    target = directory / f"lib{LIBRARY_NAMES[kind]}.so"
    if target.is_file():
        return target
    sources = _sources(kind)
    if not sources:
        raise BuildError(f"no C sources for the {kind} library in {_CSRC}")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, partial = tempfile.mkstemp(prefix=target.name, suffix=".partial", dir=directory)
    os.close(fd)
    command = [
        *compiler,
        *_FLAGS,
        f"-I{include_dir()}",
        f"-I{_CSRC / 'common'}",
        f"-I{_CSRC / kind}",
        f"-Wl,-soname,{target.name}",
        "-o",
        partial,
        *map(str, sources),
        *_LINK,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        Path(partial).unlink(missing_ok=True)
        raise BuildError(f"cannot run the C compiler `{compiler[0]}`: {error}") from None
    if result.returncode != 0:
        # The compiler driver may already have removed its failed output.
        Path(partial).unlink(missing_ok=True)
        raise BuildError(
            f"compiling the dora {kind} library failed ({shlex.join(command)}):\n"
            + (result.stderr or result.stdout).strip()
        )
    os.replace(partial, target)
    return target


def cflags() -> list[str]:
    """Compiler flags that find dora's headers."""
    return [f"-I{include_dir()}"]


def libs(kind: LibraryKind = "node") -> list[str]:
    """Linker flags for the library of ``kind``, with an rpath so that nothing needs
    ``LD_LIBRARY_PATH``."""
    path = library(kind)
    return [
        f"-L{path.parent}",
        f"-Wl,-rpath,{path.parent}",
        f"-l{LIBRARY_NAMES[kind]}",
        "-pthread",
    ]


if __name__ == "__main__":  # pragma: no cover - a debugging aid: python -m dora_node_api_c._build
    kind_arg = sys.argv[1] if len(sys.argv) > 1 else "node"
    print(library("operator" if kind_arg == "operator" else "node"))
