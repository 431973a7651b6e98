"""``dora new``: create a dataflow project or a node from the ``dora_templates`` package."""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING

import click

from dora_cli.errors import fail
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

#: The seed's language list; only those in dora_templates.LANGUAGES can be generated.
SEED_LANGUAGES = ("rust", "python", "c", "cxx")

# Why Rust is refused, and what to use instead (DESIGN.md, Multi-language).
_RUST_REFUSAL = (
    "there is no Rust node API in this dora implementation; the C node API is callable "
    'from Rust through FFI: declare the functions of node_api.h in an `extern "C"` block '
    "and link against dora_node_api_c from `dora c-api --lib-dir` (C-style flags: "
    '`dora c-api --cflags --libs`; see "From Rust" in docs/c-api.md), '
    "or create a C project with --lang c"
)
_LANG_NAMES = {"python": "Python", "rust": "Rust", "c": "C", "cxx": "C++"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _.-]*")
# What generated projects depend on: the node API, and the CLI (`dora`) for development.
NODE_API_DISTRIBUTION = "dora-node-api"
CLI_DISTRIBUTION = "dora-dataflow"

_EPILOG = """\b
Examples:
  dora new my-flow                     # Python dataflow project in ./my-flow
  cd my-flow && dora run dataflow.yml
  dora new my-node --kind node         # Python node package in ./my-node
  dora new c-flow --lang c             # C node -> C operator -> C sink, built by dora run
  dora new cam --kind node --lang cxx  # a C++ node with a dataflow to try it
"""


@click.command(epilog=_EPILOG)
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["dataflow", "node"]),
    default="dataflow",
    show_default=True,
    help="A whole dataflow project (three nodes) or a single node.",
)
@click.option(
    "--lang",
    type=click.Choice(SEED_LANGUAGES),
    default="python",
    show_default=True,
    help="Language of the generated code: python, c or cxx (C++); rust is refused "
    "(no Rust node API: call the C API through FFI).",
)
@click.option(
    "--path",
    "target",
    type=PathType(file_okay=False),
    help="Directory to create (default: ./NAME). It must not exist yet.",
)
def new(name: str, kind: str, lang: str, target: Path | None) -> None:
    """Create a new dataflow project or node called NAME from a template.

    Python: the dataflow has two timer-driven talkers and a listener; a node is a package
    with its tests. C and C++ (--lang c, --lang cxx): the dataflow is a node, a
    shared-library operator and a sink; a node is one source file with a dataflow.yml to
    try it. Their `build:` lines compile with the system compiler and the flags of
    `dora c-api`, so `dora run dataflow.yml` builds and runs them at once.

    Rust is refused: this implementation has no Rust node API; the C API can be called
    from Rust through FFI (`dora c-api --cflags --libs`). Upstream dora defaults to rust;
    here the default is python.

    Spaces in NAME become `-` in directory and package names, and `_` in the Python
    module name and in C/C++ node ids.
    """
    from dora_templates import LANGUAGES, Variables, render

    if lang == "rust":
        fail(f"cannot create a Rust {kind}: {_RUST_REFUSAL}")
    if lang not in LANGUAGES:
        fail(f"cannot create a {_LANG_NAMES[lang]} {kind}: its templates are not installed")
    package = _check_name(name)
    module = re.sub(r"[ .-]", "_", name)
    if lang == "python" and (not module.isidentifier() or keyword.iskeyword(module)):
        fail(f"`{name}` does not give a valid Python module name (`{module}`)")
    from pathlib import Path  # here: --help would pay ~2.5 ms for pathlib

    directory = target if target is not None else Path(package)
    variables = Variables(
        package,
        module,
        _compatible_range(NODE_API_DISTRIBUTION),
        _compatible_range(CLI_DISTRIBUTION),
    )
    files = render(lang, kind, variables)
    try:
        directory.mkdir()
    except FileExistsError:
        fail(f"`{directory}` already exists; choose another NAME or --path")
    except OSError as error:
        fail(f"cannot create `{directory}`: {error.strerror or error}")
    for relative, text in files.items():
        file = directory / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    shown = directory if directory.is_absolute() else f"./{directory}"
    click.echo(f"Created new {_LANG_NAMES[lang]} {kind} `{package}` at {shown}")
    click.echo("Next steps (README.md says more):")
    if lang == "python":
        # a uv project: `uv sync` makes .venv with the nodes, the node API and `dora`
        steps = [f"cd {directory}", "uv sync"]
        if kind == "dataflow":
            steps.append("uv run dora run dataflow.yml --stop-after 5s")
        steps += ["uv run pytest .", "uv run ruff check ."]
    elif kind == "dataflow":
        steps = [f"cd {directory}", "dora run dataflow.yml", "dora graph dataflow.yml --open"]
    else:
        steps = [f"cd {directory}", "dora run dataflow.yml --stop-after 5s"]
    for step in steps:
        click.echo(f"  {step}")


def _check_name(name: str) -> str:
    """Validate NAME; return the directory/package name (spaces → ``-``)."""
    if "/" in name or "\\" in name:
        fail(f"NAME must not contain a path separator: `{name}` (use --path for the location)")
    if not name.isascii():
        fail(f"NAME must be ASCII: `{name}`")
    if not _NAME.fullmatch(name):
        fail(
            f"invalid NAME `{name}`: start with a letter and use letters, digits, "
            "spaces, `_`, `.` or `-`"
        )
    return name.replace(" ", "-")


def _compatible_range(distribution: str) -> str:
    """``NAME>=X.Y.Z,<next>`` for the installed ``distribution``: the releases that keep
    its API (below 1.0, a minor bump may break it); just ``NAME`` when not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(distribution)
    except PackageNotFoundError:
        return distribution
    parts = [int(p) for p in re.findall(r"\d+", installed)[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"{distribution}>={installed},<{upper}"
