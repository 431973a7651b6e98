"""A Python operator: a file defining ``class Operator`` with ``on_event(event, send_output)``.

Hot reload (``dora start --hot-reload``): :meth:`PythonOperator.reload` re-executes the
module and swaps in a new ``Operator()`` holding the old one's state (see
:mod:`dora._reload`). A failed reload is logged and the old operator keeps running; an
exception in the first ``on_event`` after a reload is logged too instead of failing the
node, so that a bad edit can be fixed by the next one.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from dora._operators.outcome import CONTINUE, STOP, STOP_ALL, OperatorFailed
from dora._reload import load_module, reload_operator
from dora.events import Event

logger = logging.getLogger("dora.operator")

SendFn = Callable[[str, Any, "dict[str, Any] | None"], None]


class PythonOperator:
    """One Python operator of the runtime node."""

    kind = "python"

    def __init__(self, op_id: str, file: str, send: SendFn, descriptor: dict[str, Any]) -> None:
        self.id = op_id
        self._send = send
        self._module = load_module(file)
        self._operator = self._module.Operator()
        self._operator.dataflow_descriptor = descriptor
        self._just_reloaded = False

    def _send_output(
        self, output_id: str, data: Any, metadata: dict[str, Any] | None = None
    ) -> None:
        self._send(output_id, data, metadata)

    def on_event(self, event: Event) -> int:
        """Hand one event (ids already bare) to the operator; its status as an int."""
        try:
            status = self._operator.on_event(event, self._send_output)
        except Exception:
            if self._just_reloaded:
                self._just_reloaded = False
                logger.error(
                    "operator `%s` failed on its first event after a hot reload; "
                    "continuing (fix the file to reload again)",
                    self.id,
                    exc_info=True,
                )
                return CONTINUE
            traceback.print_exc()
            raise OperatorFailed(f"operator `{self.id}` raised an exception") from None
        self._just_reloaded = False
        value = getattr(status, "value", status)
        return value if value in (STOP, STOP_ALL) else CONTINUE

    def reload(self) -> None:
        """Re-execute the operator's file; on failure keep the old code (and say so)."""
        try:
            new = reload_operator(self._module, self._operator)
        except Exception:
            # a structured ERROR record (with the traceback), not a bare stderr line:
            # `dora logs --level error` and log subscribers see it
            logger.error(
                "hot reload of operator `%s` failed; the previous code keeps running",
                self.id,
                exc_info=True,
            )
            return
        self._operator, self._just_reloaded = new, True
        logger.info("operator `%s` reloaded", self.id)

    def drop(self) -> None:
        """Nothing to release: the object goes with the process (as in dora-rs)."""
