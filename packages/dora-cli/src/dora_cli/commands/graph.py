"""``dora graph``: draw a dataflow as a self-contained HTML page, or print Mermaid text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.errors import fail, reports_errors, require_file
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

_EPILOG = """\b
Examples:
  dora graph dataflow.yml --open     # write dataflow.html and open it
  dora graph dataflow.yml --mermaid  # print Mermaid text for a ```mermaid block
"""


@click.command(epilog=_EPILOG)
@click.argument(
    "path",
    type=PathType(dir_okay=False),
    shell_complete=complete_dataflow_files,
)
@click.option("--mermaid", is_flag=True, help="Print Mermaid flowchart text instead of HTML.")
@click.option("--open", "open_page", is_flag=True, help="Open the HTML page in a web browser.")
@click.option(
    "-o",
    "--output",
    type=PathType(dir_okay=False),
    help="Write here instead of <PATH without .yml>.html (with --mermaid: the text).",
)
@reports_errors
def graph(path: Path, mermaid: bool, open_page: bool, output: Path | None) -> None:
    """Visualize the dataflow at PATH.

    Writes a self-contained HTML page next to PATH (dataflow.yml -> dataflow.html) that
    renders without network access: boxes are nodes, small rounded boxes are timers and
    log sources, and each edge is labelled `output → input`, plus `[Type]` when
    output_types or input_types annotate it. Prints the page's file:// URL.
    """
    from dora_cli.graph.mermaid import render_mermaid
    from dora_message.load import load_descriptor

    if mermaid and open_page:
        raise click.UsageError("--open needs the HTML page; drop --mermaid")
    require_file(path)
    descriptor = load_descriptor(path)
    modules = _module_boundaries(path)
    text = render_mermaid(descriptor, modules)
    if mermaid:
        if output is not None:
            _write(output, text)
            click.echo(f"Mermaid text written to {output}", err=True)
        else:
            click.echo(text, nl=False)
            click.echo(
                "Paste this into a ```mermaid block on GitHub or into the Mermaid live editor.",
                err=True,
            )
        return

    from dora_cli.graph.html import render_html
    from dora_cli.graph.model import build_graph
    from dora_cli.graph.svg import render_svg

    title = descriptor.name or path.stem
    model = build_graph(descriptor, title, modules)
    summary = f"{path.name}: {len(descriptor.nodes)} node(s), {len(model.edges)} connection(s)" + (
        f" — {descriptor.description}" if descriptor.description else ""
    )
    page = render_html(title, render_svg(model), text, summary)
    target = output if output is not None else path.with_suffix(".html")
    if output is None and target.exists() and not _generated_by_us(target):
        fail(f"`{target}` exists and was not written by dora graph; choose a file with -o")
    _write(target, page)
    url = target.resolve().as_uri()
    click.echo("View graph by opening the following in your browser:", err=True)
    click.echo(url)
    if open_page:
        import webbrowser

        if not webbrowser.open(url):
            click.echo("note: no web browser could be started; open the URL yourself", err=True)


def _module_boundaries(path: Path) -> dict[str, list[str]]:
    """Top-level module id -> ids of the nodes it expanded to (empty without modules).

    ``load_descriptor`` returns the flat dataflow only; the grouping comes from expanding
    the raw descriptor again. Called after a successful load, so failures cannot happen
    for a valid file; should one happen anyway the graph is drawn without groups.
    """
    import msgspec
    import yaml

    from dora_message.descriptor import Descriptor
    from dora_message.errors import DescriptorError
    from dora_message.modules import expand_with_boundaries

    try:
        text = path.read_text(encoding="utf-8")
        raw = msgspec.convert(yaml.safe_load(text), Descriptor)
        if not any(node.module is not None for node in raw.nodes):
            return {}
        return expand_with_boundaries(raw, path, text).boundaries
    except (OSError, yaml.YAMLError, msgspec.ValidationError, DescriptorError):
        return {}


def _generated_by_us(file: Path) -> bool:
    """Whether ``file`` is an earlier ``dora graph`` page (safe to replace)."""
    from dora_cli.graph.html import GENERATOR

    try:
        with file.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head


def _write(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write `{target}`: {error.strerror or error}")
