"""Option types and callbacks shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dora_message.constants import (
    ENV_ALLOW_SHELL_NODES,
    ENV_LOG_FILTER,
    ENV_LOG_FORMAT,
    ENV_LOG_LEVEL,
)

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


F = TypeVar("F", bound=Callable[..., Any])

# here, not in commands/run.py: record and replay take them too, and their --help then
# needn't import (and declare) the run command
_RUN_OPTIONS = (
    click.option(
        "--stop-after", callback=duration, help="Stop the dataflow after this long (30s, 5m, 1h)."
    ),
    click.option(
        "--grace-duration",
        callback=duration,
        help="On stop: wait this long for nodes to exit, then SIGTERM, then SIGKILL half of "
        "it later (default 10s).",
    ),
    click.option("--uv", is_flag=True, help="Use uv to run Python nodes and pip builds."),
    click.option(
        "--debug",
        is_flag=True,
        help="Turn on debug inspection (`dora topic` itself needs a coordinator: use "
        "`dora up` and `dora start --debug` to watch topics).",
    ),
    click.option(
        "--allow-shell-nodes",
        is_flag=True,
        envvar=ENV_ALLOW_SHELL_NODES,
        show_envvar=True,
        help="Allow nodes with `path: shell`.",
    ),
    click.option(
        "--log-level",
        type=LOG_LEVEL,
        default="stdout",
        envvar=ENV_LOG_LEVEL,
        show_default=True,
        show_envvar=True,
        help="Minimum level shown (stdout shows everything).",
    ),
    click.option(
        "--log-format",
        type=LOG_FORMAT,
        default="pretty",
        envvar=ENV_LOG_FORMAT,
        show_default=True,
        show_envvar=True,
        help="How log lines are printed.",
    ),
    click.option(
        "--log-filter",
        envvar=ENV_LOG_FILTER,
        show_envvar=True,
        help='Per-node level overrides, e.g. "sensor=debug,camera=warn".',
    ),
)


def run_options(func: F) -> F:
    """The options of ``dora run`` (how to run and how to show logs)."""
    for option in reversed(_RUN_OPTIONS):
        func = option(func)
    return func
