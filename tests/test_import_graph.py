"""The import graph of the workspace packages, read from the source text.

Two rules keep the packages changeable one at a time (docs/architecture.md):
no import cycles among the modules of one package (counting what runs at import
time, `if TYPE_CHECKING:` included, since a cycle there is still a cycle for the
reader and for type checkers), and no import of another package's private
module (`pkg._x`, `pkg.__main__`) anywhere, deferred imports included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for source_root in ROOT.glob("packages/*/src"):
        for path in source_root.rglob("*.py"):
            parts = list(path.relative_to(source_root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()
TOP_LEVEL = {name.split(".")[0] for name in MODULES}


def _imported_names(module: str, path: Path, *, deferred: bool) -> Iterator[str]:
    """Every dotted name `module` imports; `deferred` includes imports inside functions."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if not deferred and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            ):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                yield base
                yield from (f"{base}.{alias.name}" for alias in child.names)
            yield from walk(child)

    yield from walk(ast.parse(path.read_text(), filename=str(path)))


def _import_time_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for name in _imported_names(module, path, deferred=False):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and name.split(".")[0] == module.split(".")[0]:
                targets.add(name)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    return [c for c in components if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]


def test_the_scan_sees_every_package() -> None:
    assert {"dora", "dora_message", "dora_daemon", "dora_coordinator", "dora_cli"} <= TOP_LEVEL
    assert "dora_daemon.local" in MODULES


def test_cycle_detection_finds_a_planted_cycle() -> None:
    planted = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert _cycles(planted) == [["p.a", "p.b", "p.c"]]
    assert _cycles({"p": {"p.x"}, "p.x": {"p"}}) == []


def test_no_import_cycles_inside_a_package() -> None:
    cycles = _cycles(_import_time_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _is_private(parts: list[str]) -> bool:
    return any(p == "__main__" or (p.startswith("_") and not p.startswith("__")) for p in parts)


def test_no_package_imports_another_packages_private_modules() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in MODULES.items()
        for name in _imported_names(module, path, deferred=True)
        if name.split(".")[0] in TOP_LEVEL
        and name.split(".")[0] != module.split(".")[0]
        and _is_private(name.split(".")[1:])
    )
    assert not offenders, "\n".join(offenders)
