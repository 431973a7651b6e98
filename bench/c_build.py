"""Compile the C benchmark programs (``bench/c``) at run time.

The dora C nodes get their flags from ``dora_node_api_c`` (``cflags()`` for the headers,
``libs("node")`` for the library, which builds it into its cache on first use), so the
bench measures whatever the package ships now. The bare pair needs nothing but libc.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

C_DIR = Path(__file__).resolve().parent / "c"
FLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra")
COMMON = (C_DIR / "bench_common.c",)


class CBuildError(RuntimeError):
    """A benchmark program (or the dora C library it links) did not compile."""


@dataclass(frozen=True)
class CPrograms:
    """Paths of the compiled programs; ``sender``/``receiver`` are None when only the bare
    pair was built."""

    bare: Path
    sender: Path | None = None
    receiver: Path | None = None


def compiler() -> list[str] | None:
    """The C compiler command (``$CC``, else cc or gcc), or None when there is none."""
    configured = os.environ.get("CC")
    if configured:
        return shlex.split(configured)
    found = shutil.which("cc") or shutil.which("gcc")
    return [found] if found else None


def _compile(cc: list[str], sources: list[Path], out: Path, extra: list[str], libs: list[str]):
    command = [*cc, *FLAGS, *extra, "-o", str(out), *map(str, sources), *libs]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CBuildError(f"{shlex.join(command)} failed:\n{(proc.stderr or proc.stdout).strip()}")


def build(out_dir: Path, with_dora: bool = True) -> CPrograms:
    """Compile into ``out_dir``: the bare pair, and with ``with_dora`` the dora C nodes."""
    cc = compiler()
    if cc is None:
        raise CBuildError("no C compiler found (install gcc or clang, or set CC)")
    out_dir.mkdir(parents=True, exist_ok=True)
    bare = out_dir / "bare"
    _compile(cc, [C_DIR / "bare.c", *COMMON], bare, [], [])
    if not with_dora:
        return CPrograms(bare)
    import dora_node_api_c  # only the dora rows need the package (and its library build)

    try:
        cflags, libs = dora_node_api_c.cflags(), dora_node_api_c.libs("node")
    except dora_node_api_c.BuildError as error:
        raise CBuildError(f"the dora C node library did not build: {error}") from None
    programs = {}
    for name in ("sender", "receiver"):
        programs[name] = out_dir / f"c-{name}"
        _compile(cc, [C_DIR / f"{name}.c", *COMMON], programs[name], cflags, libs)
    return CPrograms(bare, programs["sender"], programs["receiver"])
