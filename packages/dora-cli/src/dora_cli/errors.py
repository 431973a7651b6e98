"""Turning errors into messages and exit codes, in one place.

Exit codes: 0 ok, 1 a dataflow or command failed, 2 bad usage (click), 130 after Ctrl-C.

Every command module imports this one to be declared (:func:`reports_errors`), so it
imports ``dora_message.errors`` only once an error is handled: a ``--help`` does not need
it (~0.2 ms). The CLI's own error root, ``CliError``, is in :mod:`dora_cli.error_root`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import click

if TYPE_CHECKING:
    from pathlib import Path

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def require_file(path: Path, kind: str = "dataflow") -> None:
    """Exit with one clear line unless ``path`` is a readable regular file."""
    if path.is_dir():
        fail(f"{kind} file `{path}` is a directory")
    if not path.is_file():
        fail(f"{kind} file `{path}` does not exist")


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Show a :class:`DoraError` as one clear line instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Exception as error:
            from dora_message.errors import DoraError

            if not isinstance(error, DoraError):
                raise
            fail(str(error))

    return wrapper
