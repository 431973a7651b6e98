"""dora's C node API, C operator ABI and C++ wrapper: headers, and C sources compiled on
first use with the system C compiler into a per-user cache (see ``_build``).

``include_dir()`` holds ``node_api.h``, ``dora_node_api.h``, ``operator_api.h``,
``operator_types.h``, ``arrow_c_data.h``, ``dora_node_api.hpp`` and
``dora_operator_api.hpp``; ``library("node")`` and ``library("operator")`` are the shared
libraries, built when missing or stale.
"""

from __future__ import annotations

from dora_node_api_c._build import (
    LIBRARY_NAMES,
    BuildError,
    LibraryKind,
    cflags,
    include_dir,
    library,
    libs,
)

__all__ = [
    "LIBRARY_NAMES",
    "BuildError",
    "LibraryKind",
    "cflags",
    "include_dir",
    "library",
    "libs",
]
