"""Timer inputs (``dora/timer/...``): one task per distinct interval (spec/runtime.md §10).

Timers start when the start barrier releases and tick at once, then every interval,
skipping ticks that were missed (a busy loop never produces a burst). All inputs of one
node on one interval travel in a single :class:`~dora_message.node_protocol.Tick`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from dora_message.node_protocol import Tick

log = logging.getLogger(__name__)

SendTick = Callable[[str, Tick], None]


def next_deadline(deadline: float, now: float, interval: float) -> float:
    """The first deadline after ``now`` on the grid ``deadline + k * interval``."""
    deadline += interval
    if deadline <= now:
        deadline += ((now - deadline) // interval + 1) * interval
    return deadline


class Timers:
    """The timer tasks of one dataflow."""

    def __init__(self, timers: Mapping[int, Mapping[str, list[str]]], send: SendTick) -> None:
        # interval in ns -> {node: input ids}
        self._timers = {interval: dict(targets) for interval, targets in timers.items()}
        self._send = send
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start one task per interval (idempotent)."""
        if self._tasks:
            return
        for interval_ns, targets in self._timers.items():
            task = asyncio.create_task(self._run(interval_ns, targets), name=f"timer-{interval_ns}")
            self._tasks.append(task)

    def remove_node(self, node_id: str) -> None:
        """Stop ticking a node (it exited); its tasks keep running for the others."""
        for targets in self._timers.values():
            targets.pop(node_id, None)

    async def stop(self) -> None:
        """Cancel every timer task."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, interval_ns: int, targets: dict[str, list[str]]) -> None:
        loop = asyncio.get_running_loop()
        interval = interval_ns / 1e9
        deadline = loop.time()
        while targets:
            timestamp_ns = time.time_ns()
            for node_id, input_ids in list(targets.items()):
                self._send(node_id, Tick(input_ids=input_ids, timestamp_ns=timestamp_ns))
            deadline = next_deadline(deadline, loop.time(), interval)
            await asyncio.sleep(deadline - loop.time())
        log.debug("timer %d ns has no subscriber left", interval_ns)
