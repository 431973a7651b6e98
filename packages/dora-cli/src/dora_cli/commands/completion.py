"""``dora completion``: print the shell completion script."""

from __future__ import annotations

import click

from dora_cli.completion import CLICK_SHELLS, SHELLS, completion_script, detect_shell
from dora_cli.errors import fail

_EPILOG = """\b
Load it in the current shell, or persist it in your shell's startup file:
  eval "$(dora completion bash)"
  echo 'eval "$(dora completion bash)"' >> ~/.bashrc
  eval "$(dora completion zsh)"       # needs `autoload -U compinit && compinit` first
  echo 'eval "$(dora completion zsh)"' >> ~/.zshrc
  dora completion fish > ~/.config/fish/completions/dora.fish
"""


@click.command(epilog=_EPILOG)
@click.argument("shell", required=False, type=click.Choice(SHELLS, case_sensitive=False))
def completion(shell: str | None) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    SHELL defaults to the one named by $SHELL. elvish and powershell are accepted names
    but click, which generates the scripts, does not support them. Completion covers
    commands, options, dataflow files for PATH arguments, and, asked from the
    coordinator, dataflow names and UUIDs and the node ids of a running dataflow.
    """
    if shell is None:
        shell = detect_shell()
        if shell is None:
            fail(
                "could not tell your shell from $SHELL; name it: "
                f"dora completion {'|'.join(CLICK_SHELLS)}"
            )
    shell = shell.lower()
    if shell not in CLICK_SHELLS:
        fail(
            f"{shell} completion is not supported by click, which generates dora's "
            f"completion scripts; supported shells: {', '.join(CLICK_SHELLS)}"
        )
    from dora_cli.main import cli

    click.echo(completion_script(shell, cli), nl=False)
