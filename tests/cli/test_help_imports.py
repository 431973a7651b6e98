"""``dora … --help`` stays cheap: no command's help imports the heavy parts of dora.

Every command and subcommand (walked from the click group, aliases included) runs
``--help`` in its own Python process through ``dora_cli.main.main``, which then prints
the names in ``sys.modules``. None may be one of :data:`HEAVY` (or a submodule of one):
commands import those when they run, not when they are listed or explained. This is the
import check behind the start-up figure in ``bench/cli_startup.py``; it measures no time.

The shortcuts that keep ``--help`` cheap are checked to change nothing a user sees:
completing a command name imports no command module, the help width main() gives click
is click's own, path parameters still give ``pathlib.Path`` values, and the copied log
levels are the message package's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from dora_cli.main import COMMANDS, command_paths
from dora_cli.options import PathType

pytestmark = pytest.mark.timeout(120)

#: Modules that ``--help`` must not import: asyncio, the transport, TUI and Arrow stacks,
#: the serialisers (msgspec comes with every ``dora_message`` module but ``errors``),
#: package metadata and the user-directory lookup cost milliseconds to tens of
#: milliseconds each; the daemon and coordinator are only needed to run (but for
#: :data:`SERVER_COMMANDS`).
HEAVY = (
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

# Runs the CLI as the console script does, then lists what got imported.
WRAPPER = f"""
import sys
sys.argv[0] = "dora"
from dora_cli.main import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print({MARKER!r})
print(code)
print("\\n".join(sorted(sys.modules)))
"""


def help_imports(path: tuple[str, ...]) -> tuple[str, set[str]]:
    """Run ``dora PATH --help``; return its output and the modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *path, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    shown = " ".join(("dora", *path, "--help"))
    assert result.returncode == 0, f"{shown}: exit {result.returncode}\n{result.stderr}"
    help_text, _, tail = result.stdout.partition(MARKER + "\n")
    code, _, modules = tail.partition("\n")
    assert code.strip() in ("0", "None"), f"{shown}: exit {code}\n{result.stderr}"
    assert "Usage: dora" in help_text, f"{shown} printed no usage:\n{result.stdout}"
    return help_text, set(modules.split())


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


def test_the_check_sees_a_heavy_import() -> None:
    # the same wrapper with asyncio imported first: the check must report it
    result = subprocess.run(
        [sys.executable, "-c", "import asyncio\n" + WRAPPER, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    _, _, tail = result.stdout.partition(MARKER + "\n")
    assert "asyncio" in heavy_in(set(tail.split()[1:])), result.stdout + result.stderr


def test_the_log_level_choices_are_the_message_levels() -> None:
    # dora_cli.options keeps its own copy so that --help needn't import msgspec
    from dora_cli.options import LOG_LEVELS
    from dora_message.common import LEVELS

    assert LOG_LEVELS == LEVELS


def test_completing_a_command_name_imports_no_command_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER],
        capture_output=True,
        text=True,
        timeout=30,
        env={"_DORA_COMPLETE": "bash_complete", "COMP_WORDS": "dora st", "COMP_CWORD": "1"},
    )
    candidates, _, tail = result.stdout.partition(MARKER + "\n")
    assert candidates.split() == ["plain,start", "plain,status", "plain,stop"], result.stderr
    modules = tail.split()[1:]
    assert modules, result.stdout
    assert [m for m in modules if m.startswith("dora_cli.commands.")] == []


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
