"""The root ``dora`` command group.

Subcommands are imported only when invoked, so ``dora --help`` and ``dora --version``
answer without loading pyarrow, the daemon or anything heavy; ``dora_cli.quick_start``
holds the rest of what keeps those runs short.
"""

from __future__ import annotations

from dora_cli.quick_start import collection_paused, exit_at_once

# first: typing and click bring most of the stdlib modules a --help imports
with collection_paused():
    import importlib
    from typing import TYPE_CHECKING

    import click

if TYPE_CHECKING:
    from collections.abc import Iterator

    from click.shell_completion import CompletionItem

# command name -> (module in dora_cli.commands, or a dotted module path, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run", "Run a dataflow locally, without coordinator or daemon."),
    "build": ("build", "build", "Run the build commands of a dataflow."),
    "validate": ("validate", "validate", "Check a dataflow's wiring and type annotations."),
    "expand": ("expand", "expand", "Print a dataflow with its modules expanded."),
    "graph": ("graph", "graph", "Draw a dataflow as an HTML page or Mermaid text."),
    "new": ("new", "new", "Create a new dataflow project or node from a template."),
    "completion": ("completion", "completion", "Print a shell completion script."),
    "c-api": ("c_api", "c_api", "Print compiler and linker flags for C and C++ nodes."),
    "up": ("up", "up", "Start a local coordinator and daemon in the background."),
    "down": ("down", "down", "Stop all dataflows, the coordinator and its daemons."),
    "destroy": ("down", "down", "Alias of `down`."),
    # the servers' own commands (also their `python -m`): each option is declared once
    "coordinator": (
        "dora_coordinator.command",
        "coordinator",
        "Run the coordinator in the foreground.",
    ),
    "daemon": ("dora_daemon.command", "daemon", "Run a daemon in the foreground."),
    "start": ("start", "start", "Start a dataflow on the coordinator."),
    "stop": ("stop", "stop", "Stop a running dataflow."),
    "restart": ("restart", "restart", "Restart a dataflow from its stored descriptor."),
    "list": ("list", "list_", "List dataflows with their status and metrics."),
    "node": ("node", "node", "List, inspect, restart or stop single nodes of a running dataflow."),
    "param": ("param", "param", "List, get, set or delete runtime parameters of a node."),
    "ps": ("list", "list_", "Alias of `list`."),
    "logs": ("logs", "logs", "Show and follow the logs of a dataflow."),
    "status": ("status", "status", "Check coordinator and daemon health."),
    "check": ("status", "status", "Alias of `status`."),
    "system": ("status", "system", "System management (`dora system status`)."),
    "doctor": ("doctor", "doctor", "Diagnose the environment, coordinator and a dataflow."),
    "topic": ("topic", "topic", "List, echo, measure and publish to topics of a dataflow."),
    "self": ("self_", "self_", "Update or remove this dora CLI."),
    "record": ("record", "record", "Run a dataflow and record its messages to a file."),
    "replay": ("replay", "replay", "Replay a recording in place of the recorded nodes."),
    "top": ("top", "top", "Live per-node resource monitor (TUI); `--once` prints JSON."),
    "inspect": ("top", "inspect", "Inspect running dataflows (`dora inspect top`)."),
    "trace": ("trace", "trace", "List and view the coordinator's in-memory trace spans."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        if "." not in module_name:
            module_name = f"dora_cli.commands.{module_name}"
        with collection_paused():
            module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attr)
        return command

    #: How many times a subcommand ran to its end (read by :func:`main`).
    completed_runs = 0

    def invoke(self, ctx: click.Context) -> object:
        # A `--help` or `--version` ends the run inside click (its `Exit`) before this
        # returns: main() tells such a run from one that did work by this count.
        result = super().invoke(ctx)
        self.completed_runs += 1
        return result

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table so that --help imports no command module.
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        # Command names with the table's short help: completing `dora <TAB>` imports no
        # command module (click's own version loads every command for its help line).
        from click.shell_completion import CompletionItem

        names = [name for name in self.list_commands(ctx) if name.startswith(incomplete)]
        items = [CompletionItem(name, help=COMMANDS[name][2]) for name in names]
        return items + click.Command.shell_complete(self, ctx, incomplete)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dora-dataflow", prog_name="dora")
def cli() -> None:
    """dora: dataflow-oriented robotics and AI framework (Python implementation)."""


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command path below ``dora``, groups' subcommands included (the root is ``()``).

    Imports every command module; for tests/cli/test_help_imports.py and bench/cli_startup.py.
    """

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is None:
                    raise LookupError(f"`dora {' '.join((*path, name))}` is listed but missing")
                yield from walk(sub, (*path, name))

    return walk(cli, ())


def main() -> None:
    """Console-script entry point.

    Click's own errors (bad usage, ``ClickException``) are shown as ``error: ...`` like
    every other error of the CLI (see ``dora_cli.errors.fail``), not as ``Error: ...``.
    A run that only printed help, a version or completion candidates ends at once
    (``dora_cli.quick_start.exit_at_once``).
    """
    import sys

    completed = cli.completed_runs
    try:
        code = cli.main(prog_name="dora", standalone_mode=False, terminal_width=help_width())
    except click.ClickException as error:
        show_click_error(error)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except SystemExit as ending:
        # click answers a shell completion, and runs nothing else, then calls sys.exit
        if completing() and (ending.code is None or isinstance(ending.code, int)):
            exit_at_once(ending.code or 0)
        raise
    code = code if isinstance(code, int) else 0
    if cli.completed_runs == completed and asked_for_help_or_version(sys.argv[1:]):
        # click returned without running a command to its end: its `Exit` after the help
        # or version (a command's own ctx.exit would need one of those flags too)
        exit_at_once(code)
    sys.exit(code)


def asked_for_help_or_version(args: list[str]) -> bool:
    """Whether the command line holds one of the flags that print and end the run."""
    return any(arg in ("-h", "--help", "--version") for arg in args)


def completing() -> bool:
    """Whether the shell called ``dora`` back for completion candidates."""
    import os

    from dora_cli.completion import COMPLETE_VAR

    return COMPLETE_VAR in os.environ


def help_width() -> int:
    """The width click gives help text, found without click's ``shutil`` (a 2 ms import).

    As ``click.HelpFormatter`` computes it: the terminal's columns (``COLUMNS`` first, 80
    when unknown), at most 80, minus 2, at least 50.
    """
    import os
    import sys

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, 80) - 2, 50)


def show_click_error(error: click.ClickException) -> None:
    """Print a click error with the CLI's ``error:`` prefix (usage first, as click does)."""
    # bare `dora` (or a bare group) shows the help alone, not as an error (click >= 8.2
    # raises this; 8.1 printed the help itself)
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        error.show()
        return
    ctx = error.ctx if isinstance(error, click.UsageError) else None
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.\n"
        click.echo(f"{ctx.get_usage()}\n{hint}", err=True, color=ctx.color)
    click.secho(f"error: {error.format_message()}", fg="red", err=True)
