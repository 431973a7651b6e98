"""The files ``dora new`` writes, as package data read with :mod:`importlib.resources`.

Templates live under ``<lang>/<kind>/`` as ``*.tmpl`` files (the suffix keeps them from
being imported, byte-compiled or linted as code). In paths, the segment ``__module__`` is
replaced by the module name; in contents, ``{{name}}``, ``{{module}}``,
``{{dora_requirement}}`` and ``{{cli_requirement}}`` are replaced. Rendering is pure:
:func:`render` returns the files as a mapping and writes nothing.

Each generated README has the sections ``## Set up``, ``## Run`` (when there is a
dataflow) and ``## Test`` (when there are tests) whose ``bash`` blocks a new user can run
as they are, non-interactively: ``scripts/release-check`` runs them on every project.

Python projects are assembled from a generic node package plus role code
(:func:`_python_dataflow`); C and C++ projects (``c/``, ``cxx/``) are plain trees rendered
as they are, built by their dataflow's ``build:`` commands with ``dora c-api``. Which
languages have templates: :data:`LANGUAGES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = [
    "KINDS",
    "LANGUAGES",
    "PYTHON_DATAFLOW_NODES",
    "TREE_LANGUAGES",
    "Variables",
    "render",
]

#: Languages whose templates are plain ``<lang>/<kind>/`` trees.
TREE_LANGUAGES: tuple[str, ...] = ("c", "cxx")
#: Languages that have templates: Python, and each tree language whose folder is shipped.
LANGUAGES: tuple[str, ...] = (
    "python",
    *(lang for lang in TREE_LANGUAGES if (files(__name__) / lang).is_dir()),
)
#: What can be generated.
KINDS: tuple[str, ...] = ("dataflow", "node")

#: The nodes of the Python dataflow project: (package dir, module, node id, role).
PYTHON_DATAFLOW_NODES: tuple[tuple[str, str, str, str], ...] = (
    ("talker-1", "talker_1", "talker_1", "talker"),
    ("talker-2", "talker_2", "talker_2", "talker"),
    ("listener-1", "listener_1", "listener_1", "listener"),
)

_SUFFIX = ".tmpl"
_MODULE_SEGMENT = "__module__"


@dataclass(frozen=True)
class Variables:
    """The values substituted into a template."""

    name: str
    """Project or distribution name (also the directory name)."""
    module: str
    """Identifier form of the name: Python import name of a node package, node id and
    executable name of a C or C++ node."""
    dora_requirement: str
    """Requirement on the node API distribution, e.g. ``dora-node-api>=0.1.0,<0.2``."""
    cli_requirement: str = "dora-dataflow"
    """Requirement on the distribution of the ``dora`` command, e.g.
    ``dora-dataflow>=0.1.0,<0.2`` (the generated READMEs install it, and Python projects
    list it in their ``dev`` dependency group)."""


def render(lang: str, kind: str, variables: Variables) -> dict[str, str]:
    """Return the generated files as ``{relative posix path: text}``.

    Raises :class:`ValueError` for a language or kind without templates.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no templates for language `{lang}`")
    if kind not in KINDS:
        raise ValueError(f"unknown template kind `{kind}`")
    if lang != "python" or kind == "node":
        folder = _root() / lang / kind
        if not folder.is_dir():
            raise ValueError(f"no {kind} templates for language `{lang}`")
        return _render_tree(folder, variables)
    return _python_dataflow(variables)


def _root() -> Traversable:
    return files(__name__)


def _python_dataflow(variables: Variables) -> dict[str, str]:
    """The dataflow project: root files plus one node package per node, with role code."""
    base = _root() / "python" / "dataflow"
    out = {
        "dataflow.yml": _fill(base / "dataflow.yml.tmpl", variables),
        "README.md": _fill(base / "README.md.tmpl", variables),
        "pyproject.toml": _fill(base / "pyproject.toml.tmpl", variables),
    }
    for package, module, _node_id, role in PYTHON_DATAFLOW_NODES:
        node_vars = Variables(
            package, module, variables.dora_requirement, variables.cli_requirement
        )
        node_files = _render_tree(_root() / "python" / "node", node_vars)
        # The generic skeleton's code and tests are replaced by the role's.
        node_files[f"{module}/main.py"] = _fill(base / f"{role}.py.tmpl", node_vars)
        node_files[f"tests/test_{module}.py"] = _fill(base / f"test_{role}.py.tmpl", node_vars)
        out.update({f"{package}/{path}": text for path, text in node_files.items()})
    return out


def _render_tree(folder: Traversable, variables: Variables) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, resource in _walk(folder, ""):
        if not path.endswith(_SUFFIX):
            continue  # e.g. __pycache__ left by a development checkout
        target = path.removesuffix(_SUFFIX).replace(_MODULE_SEGMENT, variables.module)
        out[target] = _fill(resource, variables)
    return dict(sorted(out.items()))


def _walk(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in folder.iterdir():
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.extend(_walk(entry, f"{path}/"))
        else:
            found.append((path, entry))
    return found


def _fill(resource: Traversable, variables: Variables) -> str:
    text = resource.read_text(encoding="utf-8")
    for key in ("name", "module", "dora_requirement", "cli_requirement"):
        text = text.replace("{{" + key + "}}", getattr(variables, key))
    return text
