"""Each server's command line is declared once (issue 16): ``python -m dora_daemon`` and
``dora daemon`` are one click command, as are ``python -m dora_coordinator`` and ``dora
coordinator``; the CLI registers the servers' own commands.

The help and the errors are compared between the two entry points in real processes;
none of them starts a server (help, and arguments refused before anything listens).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dora_cli.main import cli
from dora_coordinator.command import coordinator, coordinator_config
from dora_daemon.command import daemon

pytestmark = pytest.mark.timeout(60)

SERVERS = {"daemon": daemon, "coordinator": coordinator}
# an option's names at the start of a help row: "  -c, --coordinator-addr TEXT ..."
OPTION_ROW = re.compile(r"^  ((?:-{1,2}[\w-]+(?:, )?)+)")


def entry_points(server: str) -> dict[str, list[str]]:
    return {
        f"python -m dora_{server}": [sys.executable, "-m", f"dora_{server}"],
        f"dora {server}": [sys.executable, "-m", "dora_cli", server],
    }


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1", **(env or {})},
    )


def listed_options(help_text: str) -> set[str]:
    names: set[str] = set()
    for line in help_text.splitlines():
        if match := OPTION_ROW.match(line):
            names.update(match.group(1).split(", "))
    return names


def test_the_cli_registers_the_servers_own_commands() -> None:
    ctx = click.Context(cli)
    for name, command in SERVERS.items():
        assert cli.get_command(ctx, name) is command


@pytest.mark.parametrize("server", SERVERS)
def test_both_entry_points_show_the_same_help(server: str) -> None:
    helps = {}
    for name, argv in entry_points(server).items():
        result = run([*argv, "--help"])
        assert result.returncode == 0, result.stderr
        usage, _, body = result.stdout.partition("\n")
        assert usage == f"Usage: {name.removeprefix('python -m ').replace('_', '-')} [OPTIONS]"
        helps[name] = body
    python_m, cli_help = helps.values()
    assert python_m == cli_help
    # every visible option of the one declaration is listed, the hidden ones are not
    declared = {
        opt
        for param in SERVERS[server].params
        if not getattr(param, "hidden", False)
        for opt in param.opts
    }
    assert listed_options(python_m) == declared | {"-h", "--help"}


@pytest.mark.parametrize(
    ("server", "args", "message"),
    [
        ("daemon", ["--coordinator-port", "0"], "Invalid value for '--coordinator-port'"),
        ("daemon", ["--labels", "gpu"], "bad label `gpu`: expected key=value"),
        ("daemon", ["--reconnect-timeout", "-1"], "Invalid value for '--reconnect-timeout'"),
        ("coordinator", ["--port", "70000"], "Invalid value for '--port'"),
        ("coordinator", ["--verbose"], "No such option '--verbose'"),
    ],
)
def test_a_bad_argument_is_a_usage_error(server: str, args: list[str], message: str) -> None:
    for name, argv in entry_points(server).items():
        result = run([*argv, *args])
        assert result.returncode == 2, f"{name}: {result.stderr}"
        assert "Traceback" not in result.stderr
        usage, *_, last = result.stderr.strip().splitlines()
        assert usage.startswith("Usage: "), f"{name}: {result.stderr}"
        assert last.lower().startswith("error: ") and message in last, f"{name}: {last}"


# a bad bound is one line naming its flag or variable, exit 2, at both entry points:
# tests/coordinator/test_bounds_config.py


def test_bound_flags_win_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DORA_COORDINATOR_KEEP_FINISHED", "7")
    monkeypatch.setenv("DORA_COORDINATOR_HELLO_TIMEOUT", "2.5")
    token = tmp_path / "token"
    args = ["--keep-finished", "4", "--max-reply-backlog", "1048576", "--token-file", str(token)]
    config = coordinator_config(coordinator.make_context("dora-coordinator", args).params)
    assert config.limits is not None
    assert config.limits.keep_finished == 4  # the flag, over the variable
    assert config.limits.hello_timeout == 2.5  # the variable
    assert config.limits.max_reply_backlog == 1048576
    assert config.token_file == token
    monkeypatch.setenv("DORA_COORDINATOR_MAX_CONNECTIONS", "lots")
    with pytest.raises(
        click.ClickException, match="DORA_COORDINATOR_MAX_CONNECTIONS must be"
    ) as bad:
        coordinator_config(coordinator.make_context("dora-coordinator", []).params)
    assert bad.value.exit_code == 2
