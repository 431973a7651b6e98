"""``dora … --help`` stays cheap: no command's help imports the heavy parts of dora.

Every command and subcommand (walked from the click group, aliases included) runs
``--help`` in its own Python process through ``dora_cli.main.main``, which then prints
the names in ``sys.modules``. None may be one of :data:`HEAVY` (or a submodule of one):
commands import those when they run, not when they are listed or explained; nor may it
import another command's module (``record`` shares ``run``'s options, not its module).
This is the import check behind the start-up figure in ``bench/cli_startup.py``; it
measures no time.

The shortcuts that keep ``--help`` cheap are checked to change nothing a user sees:
completing a command name imports no command module, the help width main() gives click
is click's own, path parameters still give ``pathlib.Path`` values, the copied log
levels are the message package's, and only runs that did nothing but print (help,
version, completion) end at once (``dora_cli.quick_start``), with their output flushed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import click
import pytest

from dora_cli.main import COMMANDS, command_paths
from dora_cli.options import PathType

pytestmark = pytest.mark.timeout(120)

#: Modules that ``--help`` must not import: asyncio, the transport, TUI and Arrow stacks,
#: the serialisers (msgspec comes with every ``dora_message`` module but ``errors``),
#: package metadata and the user-directory lookup cost milliseconds to tens of
#: milliseconds each; the daemon and coordinator are only needed to run (but for
#: :data:`SERVER_COMMANDS`). The client and the error classes are light, but a command
#: needs them only when it runs (~0.5 ms and ~0.2 ms).
HEAVY = (
    "dora_cli.client",
    "dora_message.errors",
    "asyncio",
    "websockets",
    "zenoh",
    "textual",
    "pyarrow",
    "dora_daemon",
    "dora_coordinator",
    "msgspec",
    "yaml",
    "importlib.metadata",
    "platformdirs",
    # standard-library modules a command needs only when it runs; each costs 1 to 15 ms
    # (measured after `import click`), e.g. shutil pulls zlib, bz2 and lzma
    "concurrent",
    "dataclasses",
    "email",
    "json",
    "logging",
    "pathlib",
    "shutil",
    "signal",
    "socket",
    "ssl",
    "subprocess",
    "tempfile",
    "zipfile",
)

#: What ``dora daemon --help`` and ``dora coordinator --help`` import of the servers: the
#: packages (their ``__init__`` imports nothing) and the modules that declare the two
#: commands, light by design (issue 16: one declaration for the CLI and ``python -m``).
SERVER_COMMANDS = {
    "dora_daemon",
    "dora_daemon.command",
    "dora_coordinator",
    "dora_coordinator.command",
    "dora_coordinator.bound_flags",
}

MARKER = "--- sys.modules ---"

# Runs the CLI as the console script does, then reports how it ended (at once through
# os._exit, as dora_cli.quick_start.exit_at_once ends a help run, or by returning or
# raising SystemExit), its exit code and what got imported.
WRAPPER = f"""
import os
import sys

def report(how, code):
    print({MARKER!r})
    print(how)
    print(code)
    print("\\n".join(sorted(sys.modules)), flush=True)

def at_once(code, exit=os._exit):
    report("at once", code)
    exit(code)

os._exit = at_once
sys.argv[0] = "dora"
from dora_cli.main import main
try:
    main()
except SystemExit as ending:
    report("normally", ending.code)
else:
    report("normally", None)
"""


class Ending(NamedTuple):
    """What :data:`WRAPPER` saw: the output before its report, how and with what code
    the CLI ended, and the modules imported by then."""

    output: str
    how: str
    code: str
    modules: set[str]


def run_wrapped(args: list[str], env: dict[str, str], prelude: str = "") -> Ending:
    """Run ``dora ARGS`` in :data:`WRAPPER` (after ``prelude``), in a new Python process."""
    result = subprocess.run(
        [sys.executable, "-c", prelude + WRAPPER, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    output, marker, tail = result.stdout.partition(MARKER + "\n")
    assert marker, f"dora {' '.join(args)}: no report\n{result.stdout}\n{result.stderr}"
    how, code, *modules = tail.split("\n")
    return Ending(output, how, code, {m for m in modules if m})


def help_imports(path: tuple[str, ...]) -> tuple[str, set[str]]:
    """Run ``dora PATH --help``; return its output and the modules it imported."""
    shown = " ".join(("dora", *path, "--help"))
    ending = run_wrapped([*path, "--help"], {"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert ending.code in ("0", "None"), f"{shown}: exit {ending.code}\n{ending.output}"
    assert "Usage: dora" in ending.output, f"{shown} printed no usage:\n{ending.output}"
    # help is all such a run does: it skips the interpreter's shutdown
    assert ending.how == "at once", f"{shown} ended {ending.how}"
    return ending.output, ending.modules


def heavy_in(modules: set[str]) -> list[str]:
    """Which of :data:`HEAVY` ``modules`` holds (itself or one of its submodules), the
    :data:`SERVER_COMMANDS` aside."""
    modules = modules - SERVER_COMMANDS
    return sorted(h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules))


def test_every_help_imports_nothing_heavy() -> None:
    paths = list(command_paths())
    # the walk found the whole tree: every registered command, and groups' subcommands
    assert {p[0] for p in paths if p} == set(COMMANDS)
    assert len(paths) > len(COMMANDS) + 10
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(paths, pool.map(help_imports, paths), strict=True))
    offenders = {
        " ".join(("dora", *path, "--help")): heavy
        for path, (_, modules) in results.items()
        if (heavy := heavy_in(modules))
    }
    assert not offenders, "--help imported heavy modules:\n" + json.dumps(offenders, indent=1)
    strangers = {
        " ".join(("dora", *path, "--help")): others
        for path, (_, modules) in results.items()
        if (others := other_commands_in(path, modules))
    }
    assert not strangers, "--help imported other commands:\n" + json.dumps(strangers, indent=1)


def other_commands_in(path: tuple[str, ...], modules: set[str]) -> list[str]:
    """The modules of ``dora_cli.commands`` that ``modules`` holds besides the one of the
    command at ``path`` (a command module takes ~0.5 ms to import and declare)."""
    own = COMMANDS[path[0]][0] if path else None
    return sorted(
        m for m in modules if m.startswith("dora_cli.commands.") and m != f"dora_cli.commands.{own}"
    )


def test_the_check_sees_another_commands_module() -> None:
    # `record` once imported `run`'s module for its options: the check must report that
    ending = run_wrapped(
        ["record", "--help"], {"NO_COLOR": "1"}, prelude="import dora_cli.commands.run\n"
    )
    assert other_commands_in(("record",), ending.modules) == ["dora_cli.commands.run"]


def test_the_check_sees_a_heavy_import() -> None:
    # the same wrapper with asyncio imported first: the check must report it
    ending = run_wrapped(["--help"], {"NO_COLOR": "1"}, prelude="import asyncio\n")
    assert "asyncio" in heavy_in(ending.modules), ending


def test_the_log_level_choices_are_the_message_levels() -> None:
    # dora_cli.options keeps its own copy so that --help needn't import msgspec
    from dora_cli.options import LOG_LEVELS
    from dora_message.common import LEVELS

    assert LOG_LEVELS == LEVELS


def test_completing_a_command_name_imports_no_command_module() -> None:
    ending = run_wrapped(
        [], {"_DORA_COMPLETE": "bash_complete", "COMP_WORDS": "dora st", "COMP_CWORD": "1"}
    )
    assert ending.output.split() == ["plain,start", "plain,status", "plain,stop"]
    assert ending.how == "at once"
    assert ending.modules
    assert [m for m in ending.modules if m.startswith("dora_cli.commands.")] == []


@pytest.mark.parametrize(
    ("args", "how", "code"),
    [
        # click's Exit ends these before any command runs
        (["--version"], "at once", "0"),
        (["topic", "-h"], "at once", "0"),
        # a command that ran to its end, a click error, a command's own failure
        (["completion", "bash"], "normally", "0"),
        (["run", "--bogus"], "normally", "2"),
        (["validate", "/nonexistent/flow.yml"], "normally", "1"),
    ],
)
def test_only_runs_that_did_nothing_but_print_exit_at_once(
    args: list[str], how: str, code: str
) -> None:
    ending = run_wrapped(args, {"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert (ending.how, ending.code) == (how, code), ending.output


@pytest.mark.parametrize("columns", ["40", "66", "200"])
def test_help_is_as_wide_as_clicks_own(columns: str) -> None:
    # main() gives click the width itself (help_width, without shutil): same text as click's
    clicks_own = "from dora_cli.main import cli\ncli.main(['run', '--help'], prog_name='dora')"
    env = {"COLUMNS": columns, "NO_COLOR": "1"}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code, "run", "--help"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        ).stdout
        for code in ("from dora_cli.main import main\nmain()", clicks_own)
    ]
    assert outputs[0] == outputs[1]
    assert "Usage: dora run" in outputs[0]


def test_path_parameters_still_give_pathlib_paths(tmp_path: Path) -> None:
    # PathType declares a path parameter without importing pathlib; values are still Paths
    flow = tmp_path / "flow.yml"
    flow.write_text("nodes: []\n")
    value = PathType(exists=True, dir_okay=False).convert(str(flow), None, None)
    assert isinstance(value, Path)
    assert value == flow
    with pytest.raises(click.BadParameter, match="is a directory"):
        PathType(dir_okay=False).convert(str(tmp_path), None, None)


@pytest.mark.parametrize("args", [[], ["topic"]])
def test_a_bare_group_prints_its_help_once(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dora_cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"NO_COLOR": "1"},
    )
    assert result.stderr.count("Usage: dora") == 1, result.stderr
    assert "Commands:" in result.stderr
    assert "error:" not in result.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_collection_is_paused_for_the_block_and_then_as_before(enabled: bool) -> None:
    import gc

    from dora_cli.quick_start import collection_paused

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with collection_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_what_the_block_made_is_old_after_it() -> None:
    import gc

    from dora_cli.quick_start import collection_paused

    assert gc.isenabled()
    with collection_paused():
        made = [[index] for index in range(1000)]
    # in the oldest generation: the young collections don't walk it
    assert not any(each is made for each in gc.get_objects(generation=0))
    assert any(each is made for each in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0


def test_objects_frozen_before_stay_frozen() -> None:
    import gc

    from dora_cli.quick_start import collection_paused

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collection_paused():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_exit_at_once_flushes_output_and_skips_the_shutdown() -> None:
    code = (
        "import atexit, sys\n"
        "from dora_cli.quick_start import exit_at_once\n"
        "atexit.register(print, 'atexit ran')\n"
        "print('help text', end='')\n"
        "print('on stderr', end='', file=sys.stderr)\n"
        "exit_at_once(3)\n"
        "print('still running')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env={}
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "help text", "on stderr")


def test_exit_at_once_returns_when_output_cannot_be_flushed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the caller then exits the usual way, which reports the error as it always did
    from dora_cli.quick_start import exit_at_once

    class Closed:
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    exit_at_once(0)
