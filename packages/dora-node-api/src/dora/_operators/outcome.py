"""What an operator's call can come to: a status, or a failure naming the operator."""

from __future__ import annotations

# DoraStatus / DORA_STATUS_* values
CONTINUE = 0
STOP = 1  # this operator is done
STOP_ALL = 2  # the whole runtime node is done


class OperatorFailed(Exception):
    """An operator failed (exception, error result, failed load); the message names it."""
