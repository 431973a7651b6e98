"""``DoraStatus``: what an operator's ``on_event`` returns."""

from __future__ import annotations

import enum


class DoraStatus(enum.Enum):
    """Operator return value: keep going, stop this operator, or stop everything."""

    CONTINUE = 0
    STOP = 1
    STOP_ALL = 2
