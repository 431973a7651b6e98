"""The coordinator's command line, declared once: ``python -m dora_coordinator`` runs it
and the CLI registers it as ``dora coordinator`` (``dora up`` starts the former).

Only click, constants and the table of bounds are imported here: ``dora coordinator
--help`` must stay cheap (see tests/cli/test_help_imports.py); the server itself is
imported when the command runs (:func:`dora_coordinator.entry.run`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dora_coordinator.bound_flags import SETTINGS
from dora_message.constants import (
    DEFAULT_COORDINATOR_PORT,
    ENV_COORDINATOR_INTERFACE,
    ENV_COORDINATOR_PORT,
    LOCALHOST,
)

if TYPE_CHECKING:
    from dora_coordinator.server import CoordinatorConfig

F = TypeVar("F", bound=Callable[..., Any])

BOUNDS_SECTION = "Bounds (docs/security.md)"


def bound_options(command: F) -> F:
    """One ``--FLAG N`` per bound of :data:`~dora_coordinator.bound_flags.SETTINGS`, passed
    as text: the environment fallback and the checks are ``limits_from``'s, so that an
    error names the flag or the variable the bad value came from."""
    for setting in reversed(SETTINGS):  # click lists options in declaration order
        command = click.option(
            setting.flag,
            setting.field,
            metavar="N",
            help=f"{setting.help[:1].upper()}{setting.help[1:]}.  [env var: {setting.env}]",
        )(command)
    return command


class CoordinatorCommand(click.Command):
    """Lists the bounds in a section of their own, as docs/security.md does: the usual
    options keep the layout they have without the ten long bound flags beside them."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        bounds = {setting.field for setting in SETTINGS}
        sections: dict[str, list[tuple[str, str]]] = {"Options": [], BOUNDS_SECTION: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections[BOUNDS_SECTION if param.name in bounds else "Options"].append(record)
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


@click.command(cls=CoordinatorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--interface",
    default=LOCALHOST,
    envvar=ENV_COORDINATOR_INTERFACE,
    show_default=True,
    show_envvar=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_COORDINATOR_PORT,
    envvar=ENV_COORDINATOR_PORT,
    show_default=True,
    show_envvar=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--store",
    default="memory",
    show_default=True,
    help="memory, or sqlite[:PATH] / redb[:PATH] to survive restarts.",
)
@click.option(
    "--token-file",
    # a str, made a Path when the command runs: declaring a path type here would import
    # pathlib, which --help would pay for
    type=click.Path(),
    help="Require the token in this file (created 0600 if missing).",
)
@click.option("--quiet", is_flag=True, help="Do not log to stderr.")
@bound_options
def coordinator(quiet: bool, **options: Any) -> None:
    """Run the coordinator (the control plane) until Ctrl-C or `dora down`.

    Prints `dora-coordinator listening on ADDR:PORT` once it accepts connections (unless
    --quiet). A bound not given as a flag comes from its environment variable.
    """
    from dora_coordinator.entry import run

    sys.exit(run(coordinator_config(options), quiet))


def coordinator_config(options: Mapping[str, Any]) -> CoordinatorConfig:
    """The :class:`~dora_coordinator.server.CoordinatorConfig` the command's parsed
    options (``ctx.params``) name, bounds from flags over the environment; a bad bound
    is a :class:`click.ClickException` with exit code 2."""
    import os
    from pathlib import Path

    from dora_coordinator.limits import LimitsError, limits_from
    from dora_coordinator.server import CoordinatorConfig

    try:
        limits = limits_from(os.environ, {s.field: options[s.field] for s in SETTINGS})
    except LimitsError as error:
        # one line naming the flag or the variable (the usage text does not help with a
        # bad environment variable), exit 2 like any other bad argument
        failure = click.ClickException(str(error))
        failure.exit_code = 2
        raise failure from None
    token_file = options["token_file"]
    return CoordinatorConfig(
        interface=options["interface"],
        port=options["port"],
        store=options["store"],
        token_file=Path(token_file) if token_file is not None else None,
        limits=limits,
    )
