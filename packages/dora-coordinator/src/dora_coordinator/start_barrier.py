"""The start barrier of a dataflow spanning several daemons (spec/runtime.md §2), sans-I/O.

Each daemon reports ``nodes_ready`` once its own nodes all subscribed (or one failed
before subscribing). The coordinator releases every daemon of the dataflow when all of
them are ready, or fails them all at the first error; the verdict is latched.
"""

from __future__ import annotations

from dora_coordinator.model import Dataflow


def record_ready(
    dataflow: Dataflow, daemon_id: str, error: str | None
) -> tuple[list[str], str | None] | None:
    """Note that ``daemon_id`` is ready (``error``: it failed).

    Returns the daemons to send ``barrier_released`` to, with the error, once the
    barrier is decided; a daemon reporting again afterwards (it reconnected) gets the
    verdict alone. None: keep waiting.
    """
    placement = dataflow.record.placement
    if daemon_id not in placement:
        return None
    if dataflow.barrier_released:
        return [daemon_id], dataflow.barrier_error
    dataflow.ready[daemon_id] = error
    failed = [e for e in dataflow.ready.values() if e is not None]
    if not failed and not all(d in dataflow.ready for d in placement):
        return None
    dataflow.barrier_released = True
    dataflow.barrier_error = failed[0] if failed else None
    return list(placement), dataflow.barrier_error
