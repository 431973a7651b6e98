"""The root of the errors the CLI itself raises.

Apart from :mod:`dora_cli.errors`, which every command module imports to be declared: a
``--help`` then does not import ``dora_message.errors`` (~0.2 ms); only modules that run
commands import this one.
"""

from __future__ import annotations

from dora_message.errors import DoraError


class CliError(DoraError):
    """Root of the errors the CLI itself raises (shown as one ``error:`` line)."""
