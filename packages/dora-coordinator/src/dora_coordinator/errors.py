"""The root of the coordinator's errors: every error it raises is a
:class:`CoordinatorServerError`, itself a ``dora_message.errors.DoraError``, so a caller can
catch dora's refusals without catching bugs."""

from __future__ import annotations

from dora_message.errors import DoraError


class CoordinatorServerError(DoraError):
    """Something the coordinator refuses or cannot do; the message says what and where."""
