"""Where a ``shared-library:`` operator's file is (spec/c-api.md, spec/descriptor.md §8).

One function for the three places that need it, so they cannot disagree: the daemon
(which refuses to start a node whose library is missing), ``dora validate`` (which
rejects the same dataflow the same way) and the operator runtime (``DORA_RUNTIME_CONFIG``
names libraries as the descriptor does).

As in dora-rs, ``build/operator`` means the platform's file name for a library called
``operator``: ``build/liboperator.so`` on Linux, ``liboperator.dylib`` on macOS,
``operator.dll`` on Windows. Unlike dora-rs, a name that already has a suffix
(``build/liboperator.so``, ``op.so.1``) is taken as it is rather than refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dora_message.descriptor import Descriptor, Operator
from dora_message.errors import DescriptorError
from dora_message.topics import DEFAULT_OPERATOR_ID

__all__ = ["check_libraries", "library_file", "missing_library_error"]


def _platform_name(stem: str) -> str:
    if sys.platform == "darwin":
        return f"lib{stem}.dylib"
    if sys.platform == "win32":
        return f"{stem}.dll"
    return f"lib{stem}.so"


def library_file(text: str, base: Path) -> Path:
    """The library file that ``shared-library: text`` names, relative to ``base`` (the
    dataflow's directory, or the node's fetched working directory)."""
    path = Path(text).expanduser()
    if not path.suffix:
        path = path.with_name(_platform_name(path.name))
    return path if path.is_absolute() else base / path


def missing_library_error(
    node_id: str, operator_id: str, path: Path, where: str
) -> DescriptorError:
    """The error for a library that is not there, the same at run and at validate."""
    return DescriptorError(
        f"node `{node_id}`: operator `{operator_id}`: shared library `{path}` does not exist "
        "(build it first: `shared-library: build/operator` means build/liboperator.so)",
        where,
    )


def check_libraries(descriptor: Descriptor, base: Path) -> list[str]:
    """``dora validate``'s file check of shared-library operators: raises the error
    ``dora run`` would give for the first missing library; a missing library whose
    operator has a ``build:`` is only a warning (``dora run`` builds it first)."""
    warnings: list[str] = []
    for index, node in enumerate(descriptor.nodes):
        if node.git is not None:
            continue  # its files are in a repository that is cloned at build time
        blocks: list[tuple[str, Operator, str]] = [
            (op.id or "", op, f"operators[{i}]") for i, op in enumerate(node.operators or [])
        ]
        if node.operator is not None:
            blocks = [(node.operator.id or DEFAULT_OPERATOR_ID, node.operator, "operator")]
        for op_id, op, place in blocks:
            if op.shared_library is None:
                continue
            path = library_file(op.shared_library, base)
            if path.is_file():
                continue
            where = f"nodes[{index}].{place}.shared-library"
            if op.build is None:
                raise missing_library_error(node.id, op_id, path, where)
            warnings.append(f"{where}: `{path}` does not exist yet; `build:` should create it")
    return warnings
