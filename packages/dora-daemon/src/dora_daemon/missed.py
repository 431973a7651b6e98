"""Messages a node missed: counted per receiving node and input, one warning per outage.

Data never passes through the daemon, so the daemon learns of lost messages from the
nodes (``node_protocol``): a sender reports what it could not hand to a receiver that
was not connected (``DroppedMessages``, per output and receiver, ``resumed`` when it
reached the receiver again), and a node that exits to be restarted reports what it had
received but never handed to its code (``UnreadInputs``). This module turns both into
one count per (receiver, input) -- the ``dropped_messages`` of ``dora node info`` and
``dora top`` -- and logs one warning per restart of the receiver with the number it
missed on each input. Sans-I/O: the caller passes the routes and a clock of restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Consumers = Mapping[tuple[str, str], Mapping[str, list[str]]]
"""(producer, output) -> receiver node -> its input ids (``ResolvedDataflow.consumers``)."""
Routes = Callable[[], Consumers]
"""The consumers of the dataflow (asked when needed: known once the dataflow resolved)."""


class MissedMessages:
    """Counts per (receiver, input); the outage in progress is logged when it ends."""

    def __init__(self, consumers: Routes, restarts: Callable[[str], int]) -> None:
        self._consumers = consumers
        self._restarts = restarts
        self._totals: dict[str, dict[str, int]] = {}  # receiver -> input -> all missed
        # receiver -> input -> restart count when reported -> not logged yet
        self._open: dict[str, dict[str, dict[int, int]]] = {}

    def totals(self, receiver: str) -> dict[str, int]:
        """Every message ``receiver`` missed so far, per input (cumulative)."""
        return dict(self._totals.get(receiver, {}))

    def dropped(
        self, sender: str, output_id: str, receiver: str, count: int, resumed: bool
    ) -> None:
        """``sender`` could not hand ``count`` messages of ``output_id`` to ``receiver``;
        ``resumed``: it reaches the receiver again (the outage ended: log it)."""
        input_ids = self._consumers().get((sender, output_id), {}).get(receiver)
        if not input_ids:
            # the daemon's own receivers (dora/watch, dora/bridge) or a stale report
            log.debug("%s/%s: %d messages not delivered to %s", sender, output_id, count, receiver)
            return
        for input_id in input_ids:
            self._add(receiver, input_id, count)
        if resumed:
            self._log(receiver, input_ids, "while restarting", logging.WARNING)

    def unread(self, receiver: str, counts: Mapping[str, int]) -> None:
        """``receiver`` exits to be restarted with these messages unread, per input."""
        for input_id, count in counts.items():
            if count > 0:
                self._add(receiver, input_id, count)

    def ended(self, receiver: str | None = None) -> None:
        """``receiver`` (default: every node) runs no more: log what is still open.

        Info, not a warning: sending to a node that finished is no fault of a restart
        (the count stays visible in ``dora node info``)."""
        receivers = list(self._open) if receiver is None else [receiver]
        for node_id in receivers:
            inputs = list(self._open.get(node_id, {}))
            self._log(node_id, inputs, "while it was not running", logging.INFO)

    def _add(self, receiver: str, input_id: str, count: int) -> None:
        if count <= 0:
            return
        totals = self._totals.setdefault(receiver, {})
        totals[input_id] = totals.get(input_id, 0) + count
        by_restart = self._open.setdefault(receiver, {}).setdefault(input_id, {})
        restarts = self._restarts(receiver)
        by_restart[restarts] = by_restart.get(restarts, 0) + count

    def _log(self, receiver: str, input_ids: list[str], when: str, level: int) -> None:
        """Log what ``receiver`` missed on ``input_ids``: per restart it belongs to, the
        latest one as ``when``/``level``, any earlier one (a restart during which no
        sender tried to send, so no outage ended it) as missed while restarting."""
        pending = self._open.get(receiver, {})
        now = self._restarts(receiver)
        for input_id in input_ids:
            by_restart: dict[int, int] = {}
            for reported_at, count in pending.pop(input_id, {}).items():
                # reported at restart count k - 1 (the exiting run's unread messages, a
                # sender's before the restart) or k: restart k's; earlier ones: their own
                restart = min(reported_at + 1, now)
                by_restart[restart] = by_restart.get(restart, 0) + count
            for restart in sorted(by_restart):
                latest = restart == now
                self._log_one(
                    receiver,
                    input_id,
                    by_restart[restart],
                    restart,
                    when if latest else "while restarting",
                    level if latest else logging.WARNING,
                )

    @staticmethod
    def _log_one(
        receiver: str, input_id: str, count: int, restart: int, when: str, level: int
    ) -> None:
        log.log(
            level,
            "node `%s` missed %d message%s on input `%s` %s%s",
            receiver,
            count,
            "" if count == 1 else "s",
            input_id,
            when,
            f" (restart {restart})" if restart else "",
        )
