"""Fixtures for the C API tests: compiling C / C++ programs against dora's C headers
and libraries into a per-session temporary directory, and a fake daemon for a compiled
node to talk to (``daemon``). The helpers they share with the tests are in ``helpers.py``.

``compile_c(sources, output, extra_flags=(), lang="c", link="node")`` compiles and links
a program (``link``: ``"node"`` or ``"operator"`` links that library, ``"sources-node"``
compiles the node library's own sources into the program, e.g. under a sanitizer,
``None`` links nothing) and returns its path. Results are cached per session by their
arguments.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

import dora_node_api_c
from bench.fake_daemon import FakeDaemon
from tests.c_api.helpers import NODES, WARNINGS, check_compile

CompileC = Callable[..., Path]


def library_sources(kind: str = "node") -> list[Path]:
    """The C sources of a dora C library (``csrc/common`` + ``csrc/<kind>``)."""
    csrc = Path(dora_node_api_c.__file__).parent / "csrc"
    return sorted((csrc / "common").glob("*.c")) + sorted((csrc / kind).glob("*.c"))


def library_includes(kind: str = "node") -> list[str]:
    csrc = Path(dora_node_api_c.__file__).parent / "csrc"
    return [f"-I{csrc / 'common'}", f"-I{csrc / kind}"]


@pytest.fixture(scope="session")
def c_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c_api_build")


@pytest.fixture(scope="session")
def compile_c(c_build_dir: Path) -> CompileC:
    cache: dict[tuple[object, ...], Path] = {}

    def compile(
        sources: Sequence[str | Path],
        output: str,
        extra_flags: Sequence[str] = (),
        lang: str = "c",
        link: str | None = "node",
    ) -> Path:
        paths = [Path(s) if Path(s).is_absolute() else NODES / s for s in sources]
        key = (tuple(paths), output, tuple(extra_flags), lang, link)
        if key in cache:
            return cache[key]
        target = c_build_dir / output
        if lang == "cxx":
            compiler = [shutil.which("g++") or "c++", "-std=c++17", "-x", "c++"]
        else:
            compiler = [shutil.which("gcc") or "cc", "-std=c11"]
        command = [*compiler, *WARNINGS, *dora_node_api_c.cflags(), *extra_flags]
        command += ["-o", str(target), *map(str, paths)]
        if lang == "cxx":
            command += ["-x", "none"]
        if link == "sources-node":
            # the library's own sources, built with this program's flags (sanitizers);
            # always as C, whatever the program's language
            command += ["-x", "c", *library_includes("node"), *map(str, library_sources("node"))]
            command += ["-x", "none", "-pthread"]
        elif link is not None:
            command += dora_node_api_c.libs(link)  # type: ignore[arg-type]
        check_compile(command)
        cache[key] = target
        return target

    return compile


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    """A fake daemon for one dataflow whose node ``c`` is the compiled node under test."""
    d = FakeDaemon(["c"])
    try:
        yield d
    finally:
        d.close()
