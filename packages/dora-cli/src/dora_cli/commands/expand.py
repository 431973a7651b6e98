"""``dora expand``: print a dataflow with its modules expanded, or lint a module file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.errors import reports_errors, require_file
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path


@click.command()
@click.argument("path", type=PathType(), shell_complete=complete_dataflow_files)
@click.option(
    "--module",
    "module_file",
    is_flag=True,
    help="PATH is a module file: validate it on its own instead of expanding a dataflow.",
)
@reports_errors
def expand(path: Path, module_file: bool) -> None:
    """Expand the module references of the dataflow at PATH and print the flat YAML.

    With --module, PATH is a module file, checked on its own (header, `_mod/` ports,
    internal references, nested modules, declared outputs).
    """
    require_file(path, "module" if module_file else "dataflow")
    if module_file:
        from dora_message.modules import lint_module_file

        lint_module_file(path)
        click.echo(f"Module file is valid: {path}")
        return
    import msgspec
    import yaml

    from dora_message.load import load_descriptor_with_warnings

    descriptor, warnings = load_descriptor_with_warnings(path)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    flat = _short_inputs(msgspec.to_builtins(descriptor))
    click.echo(yaml.dump(flat, Dumper=_dumper(), sort_keys=False, allow_unicode=True), nl=False)


def _dumper() -> type:
    """A safe YAML dumper that writes multi-line strings (build scripts) as ``|`` blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _short_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """Write long-form inputs that only set ``source`` in the short form."""
    for node in document.get("nodes", []):
        blocks = [node, node.get("operator") or {}, *(node.get("operators") or [])]
        for block in blocks:
            for input_id, spec in (block.get("inputs") or {}).items():
                if isinstance(spec, dict) and set(spec) == {"source"}:
                    block["inputs"][input_id] = spec["source"]
    return document
