"""What ``dora record`` and ``dora replay`` share: YAML in and out, the node executables."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dora_cli.errors import fail
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

output_yaml_option = click.option(
    "--output-yaml",
    type=PathType(dir_okay=False),
    help="Write the rewritten dataflow to this file and exit without running it.",
)


def comma_list(text: str | None, option: str) -> list[str] | None:
    """``a, b`` -> ``["a", "b"]``; None when the option was not given."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise click.BadParameter("expected a comma-separated list", param_hint=option)
    return items


def load_yaml_document(path: Path) -> Any:
    """The dataflow as plain YAML (it was validated already)."""
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_yaml(doc: Any, path: Path | None = None) -> str:
    """``doc`` as YAML text, also written to ``path`` when given."""
    import yaml

    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if path is not None:
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as err:
            fail(f"cannot write `{path}`: {err}")
    return text


def node_executable(name: str) -> str:
    """The absolute path of a console script of the environment ``dora`` runs in."""
    import shutil
    from pathlib import Path

    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        fail(f"`{name}` is not installed (it comes with the dora-record package)")
    return str(Path(found).resolve())
