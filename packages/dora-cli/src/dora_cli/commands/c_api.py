"""``dora c-api``: compiler and linker flags, and build-system files, for C and C++ code.

Everything is computed by the ``dora_node_api_c`` package (which compiles its libraries on
first use); this command only prints. Flag options combine on one line like pkg-config's;
each directory option prints one line of its own, after the flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from dora_cli.errors import fail

if TYPE_CHECKING:
    from pathlib import Path

_EPILOG = """\b
Examples:
  cc -o build/node node.c $(dora c-api --cflags --libs)
  cc -shared -fPIC -o build/libop.so op.c $(dora c-api --operator --cflags --libs)
  PKG_CONFIG_PATH=$(dora c-api --pkg-config-dir) pkg-config --libs dora-node-api-c
  cmake -B build -DCMAKE_PREFIX_PATH=$(dora c-api --cmake-dir)
      # then in CMakeLists.txt:
      #   find_package(dora-node-api-c CONFIG REQUIRED)
      #   target_link_libraries(node PRIVATE dora::node_api_c)
"""


@click.command(epilog=_EPILOG)
@click.option("--cflags", is_flag=True, help="Print the compiler flags (-I<include dir>).")
@click.option("--libs", is_flag=True, help="Print the linker flags (-L, -Wl,-rpath, -l, -pthread).")
@click.option(
    "--operator",
    is_flag=True,
    help="Use the operator helper library (for shared-library operators) "
    "with --libs and --lib-dir instead of the node library.",
)
@click.option("--include-dir", is_flag=True, help="Print the directory of the headers.")
@click.option("--lib-dir", is_flag=True, help="Print the directory of the shared library.")
@click.option(
    "--pkg-config-dir",
    is_flag=True,
    help="Print a directory holding dora-node-api-c.pc and dora-operator-api-c.pc "
    "(for PKG_CONFIG_PATH).",
)
@click.option(
    "--cmake-dir",
    is_flag=True,
    help="Print a directory holding dora-node-api-cConfig.cmake (for CMAKE_PREFIX_PATH "
    "or -Ddora-node-api-c_DIR): targets dora::node_api_c and dora::operator_api_c.",
)
def c_api(
    cflags: bool,
    libs: bool,
    operator: bool,
    include_dir: bool,
    lib_dir: bool,
    pkg_config_dir: bool,
    cmake_dir: bool,
) -> None:
    """Print what C and C++ code needs to compile and link against dora.

    Headers: node_api.h (dora-rs's C node API), dora_node_api.h (its extensions),
    operator_api.h and operator_types.h (the C operator ABI), dora_node_api.hpp and
    dora_operator_api.hpp (C++). The shared libraries are compiled with the system C
    compiler (CC, else cc) the first time they are asked for, into a per-user cache
    (DORA_C_API_CACHE, else ~/.cache/dora/c-api or $XDG_CACHE_HOME/dora/c-api); the
    linker flags carry an rpath to it, so programs run without LD_LIBRARY_PATH.
    """
    import dora_node_api_c as api

    kind: api.LibraryKind = "operator" if operator else "node"
    flag_queries: list[Callable[[], list[str]]] = []
    if cflags:
        flag_queries.append(api.cflags)
    if libs:
        flag_queries.append(lambda: api.libs(kind))
    dir_queries: list[Callable[[], Path]] = []
    if include_dir:
        dir_queries.append(api.include_dir)
    if lib_dir:
        dir_queries.append(lambda: api.library(kind).parent)
    if pkg_config_dir:
        from dora_node_api_c.pkgconfig import pkg_config_dir as find_pkg_config_dir

        dir_queries.append(find_pkg_config_dir)
    if cmake_dir:
        from dora_node_api_c.cmake import cmake_dir as find_cmake_dir

        dir_queries.append(find_cmake_dir)
    if not flag_queries and not dir_queries:
        raise click.UsageError(
            "nothing to print: give --cflags, --libs, --include-dir, --lib-dir, "
            "--pkg-config-dir or --cmake-dir"
        )
    # Compute everything before printing, so a failed build prints no partial line that a
    # `$(dora c-api ...)` in a build command would pass on to the compiler.
    try:
        flags = [flag for query in flag_queries for flag in query()]
        directories = [query() for query in dir_queries]
    except api.BuildError as error:
        fail(f"cannot build dora's C library: {error}")
    if flags:
        click.echo(" ".join(flags))
    for directory in directories:
        click.echo(directory)
