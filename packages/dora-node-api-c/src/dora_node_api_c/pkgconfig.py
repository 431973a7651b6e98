"""pkg-config files for the C libraries: ``dora-node-api-c.pc`` and ``dora-operator-api-c.pc``.

:func:`pkg_config_dir` builds both libraries (when missing) and writes the two files into a
``pkgconfig`` directory next to the built node library; with that directory on
``PKG_CONFIG_PATH``, ``pkg-config --cflags --libs dora-node-api-c`` gives the flags of
``dora c-api --cflags --libs``. The node library's cache directory identifies both
libraries: the cache key hashes every source of both, so a new version of either moves both.
"""

from __future__ import annotations

from pathlib import Path

from dora_node_api_c._build import LIBRARY_NAMES, LibraryKind, include_dir, library
from dora_node_api_c._generated import package_version, write_if_changed

#: pkg-config module name of each library.
PACKAGE_NAMES: dict[LibraryKind, str] = {
    "node": "dora-node-api-c",
    "operator": "dora-operator-api-c",
}

_DESCRIPTIONS: dict[LibraryKind, str] = {
    "node": "dora's C node API (node_api.h, dora_node_api.h)",
    "operator": "helpers for dora's C operator ABI (operator_api.h, operator_types.h)",
}


def pc_text(kind: LibraryKind, library_path: Path, headers: Path, version: str) -> str:
    """The ``.pc`` file of the library of ``kind`` built at ``library_path``."""
    # The rpath makes programs find the library in the cache without LD_LIBRARY_PATH, the
    # same as `dora c-api --libs`.
    return (
        f"libdir={library_path.parent}\n"
        f"includedir={headers}\n"
        "\n"
        f"Name: {PACKAGE_NAMES[kind]}\n"
        f"Description: {_DESCRIPTIONS[kind]}\n"
        f"Version: {version}\n"
        "Cflags: -I${includedir}\n"
        f"Libs: -L${{libdir}} -Wl,-rpath,${{libdir}} -l{LIBRARY_NAMES[kind]} -pthread\n"
    )


def pkg_config_dir() -> Path:
    """The directory holding both ``.pc`` files, building the libraries if needed.

    Raises :class:`dora_node_api_c.BuildError` when a library cannot be compiled.
    """
    built = {kind: library(kind) for kind in PACKAGE_NAMES}
    directory = built["node"].parent / "pkgconfig"
    for kind, path in built.items():
        text = pc_text(kind, path, include_dir(), package_version())
        write_if_changed(directory / f"{PACKAGE_NAMES[kind]}.pc", text)
    return directory
