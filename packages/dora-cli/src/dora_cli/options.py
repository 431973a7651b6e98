"""Option types and callbacks shared by several commands."""

from __future__ import annotations

import click

from dora_message.common import LEVELS
from dora_message.units import parse_duration

LOG_LEVEL = click.Choice(list(LEVELS), case_sensitive=False)
LOG_FORMAT = click.Choice(["pretty", "json", "compact"], case_sensitive=False)


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Click callback: parse ``30``, ``30s``, ``5m``, ``1h``, ``2d`` into seconds."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if seconds <= 0:
        raise click.BadParameter("must be greater than zero")
    return seconds
