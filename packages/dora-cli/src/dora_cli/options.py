"""Option types and callbacks shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

#: The log levels of ``dora_message.common.LEVELS``, most severe first. A copy, so that
#: ``--help`` needn't import msgspec; tests/cli/test_help_imports.py checks they agree.
LOG_LEVELS: tuple[str, ...] = ("error", "warn", "info", "debug", "trace", "stdout")

LOG_LEVEL = click.Choice(list(LOG_LEVELS), case_sensitive=False)
#: The ``--log-format`` choices, rendered by ``dora_cli.log_lines.format_log``.
LOG_FORMATS: tuple[str, ...] = ("pretty", "json", "compact")
LOG_FORMAT = click.Choice(list(LOG_FORMATS), case_sensitive=False)


def format_option(
    help_text: str, default: str | None = "table"
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--format/-f table|json``, passed to the command as ``fmt``."""
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(["table", "json"]),
        default=default,
        help=help_text,
    )


class PathType(click.Path):
    """``click.Path(path_type=pathlib.Path)``, with pathlib imported by the first conversion.

    Declaring a path parameter then costs no pathlib import (~3 ms with urllib.parse and
    ipaddress), which ``--help`` would otherwise pay.
    """

    def coerce_path_result(self, value: str | os.PathLike[str]) -> Any:
        from pathlib import Path

        return Path(value)


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Click callback: parse ``30``, ``30s``, ``5m``, ``1h``, ``2d`` into seconds."""
    from dora_message.units import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if seconds <= 0:
        raise click.BadParameter("must be greater than zero")
    return seconds
