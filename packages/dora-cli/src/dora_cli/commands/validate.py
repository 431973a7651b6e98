"""``dora validate``: check a dataflow's schema, wiring and type annotations.

Also home of :func:`type_check_for_build`, the same type pass as run by ``dora build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.errors import EXIT_FAILURE, fail, reports_errors, require_file
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

    from dora_message.descriptor import Descriptor

_SCHEMA_HINT = "hint: check the YAML syntax and the dataflow schema (docs/types-and-modules.md)"


@click.command()
@click.argument("path", type=PathType(), shell_complete=complete_dataflow_files)
@click.option(
    "--strict-types",
    is_flag=True,
    help="Treat type warnings as errors (non-zero exit code, for CI).",
)
@reports_errors
def validate(path: Path, strict_types: bool) -> None:
    """Validate the dataflow at PATH: schema, wiring, config and type annotations.

    Modules are expanded first; user types in a `types/` folder beside the
    dataflow are loaded. Type problems are warnings unless --strict-types or
    `strict_types: true` is set. Node executables are not checked here; the
    libraries of shared-library operators are, as `dora run` does (a missing one
    whose operator has a `build:` is a warning).
    """
    from dora_message.errors import DescriptorError
    from dora_message.load import load_descriptor_with_warnings
    from dora_message.shared_library import check_libraries
    from dora_message.types import analyze_types

    click.echo(f"Validating {path}...")
    require_file(path)
    try:
        descriptor, warnings = load_descriptor_with_warnings(path)
    except DescriptorError as err:
        click.secho(f"error: {err}", fg="red", err=True)
        click.echo(_SCHEMA_HINT, err=True)
        raise SystemExit(EXIT_FAILURE) from None
    try:
        warnings += check_libraries(descriptor, path.resolve().parent)
    except DescriptorError as err:
        err.file = err.file or str(path)
        click.secho(f"error: {err}", fg="red", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    strict = strict_types or bool(descriptor.strict_types)
    report = analyze_types(descriptor, path.resolve().parent, strict=strict)
    if report.user_types:
        click.echo(f"Loaded {report.user_types} user-defined type(s) from types/")
    click.echo("Input/output wiring OK.")
    click.echo("Descriptor config OK.")
    for inference in report.inferred:
        click.echo(f"  {inference}")
    if not report.warnings:
        click.echo("All type annotations OK.")
        return
    click.echo("Type warnings:")
    for warning in report.warnings:
        click.echo(f"  - {warning}")
    count = len(report.warnings)
    click.echo(f"{count} type warning(s) found.")
    if strict:
        fail(f"{count} type warning(s) found (--strict mode)")


def type_check_for_build(descriptor: Descriptor, dataflow: Path, strict_types: bool) -> None:
    """``dora build``'s type pass: warnings on stderr; exit 1 on any under strict mode."""
    from dora_message.types import analyze_types

    strict = strict_types or bool(descriptor.strict_types)
    report = analyze_types(descriptor, dataflow.resolve().parent, strict=strict)
    if report.user_types:
        click.echo(f"Loaded {report.user_types} user-defined type(s) from types/", err=True)
    for warning in report.warnings:
        click.echo(f"  warning: {warning}", err=True)
    count = len(report.warnings)
    if not count:
        return
    if strict:
        fail(f"{count} type error(s) found (strict mode)")
    click.echo(
        f"{count} type warning(s) found. hint: use --strict-types (or `strict_types: true`) "
        "to fail the build on type warnings",
        err=True,
    )
