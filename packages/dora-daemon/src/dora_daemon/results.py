"""How a node's exit becomes a :class:`NodeResult` (spec/runtime.md §9), sans-I/O."""

from __future__ import annotations

import enum
import signal
from collections.abc import Sequence

from dora_message.common import NodeResult

ERROR_TAIL_LINES = 20  # stderr lines quoted in one-line error messages
_PLANNED_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PLANNED_STOP_CODES = (128 + signal.SIGTERM, 128 + signal.SIGINT)  # 143, 130 from shells


class Kill(enum.Enum):
    """Whether, and why, the daemon SIGKILLed the node's group."""

    NONE = "none"
    GRACE = "grace"  # the stop ladder ran out of patience
    FORCE = "force"  # a forced stop (second Ctrl-C)
    HEALTH = "health"  # the health check found no activity for health_check_timeout
    FINISH = "finish"  # still running finish_grace_secs after all its inputs closed


def describe_status(returncode: int) -> str:
    """``exit code 3`` or ``signal 11 (SIGSEGV)``."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
    return f"signal {-returncode} ({name})"


def tail_text(stderr_tail: Sequence[str], lines: int = ERROR_TAIL_LINES) -> str:
    """The last ``lines`` stderr lines as one block, or a note that there were none."""
    if not stderr_tail:
        return "(no stderr output)"
    return "\n".join(list(stderr_tail)[-lines:])


def exited_before_init(node_id: str, returncode: int, stderr_tail: Sequence[str]) -> str:
    """The barrier error for a node that failed before subscribing, with its last stderr
    line (a Python node's exception): every waiting node raises it and the daemon logs it,
    so a whole traceback here would be printed once per node (the node's own output and
    the failure summary already show it)."""
    return (
        f"node {node_id} exited before initializing dora "
        f"({describe_status(returncode)}): {tail_text(stderr_tail, 1)}"
    )


def node_result(
    node_id: str,
    returncode: int,
    *,
    stderr_tail: Sequence[str],
    subscribed: bool,
    stop_requested: bool,
    kill: Kill = Kill.NONE,
    cascade_from: str | None = None,
) -> NodeResult:
    """Classify one exit.

    Exit 0 is fine; so is SIGTERM/SIGINT (or 143/130) when the daemon itself asked the
    dataflow to stop. ``cascade_from`` names the node whose failure before initializing
    failed the start barrier that this node was waiting in.
    """
    signum = -returncode if returncode < 0 else None
    exit_code = returncode if returncode >= 0 else None
    planned = stop_requested and (
        signum in _PLANNED_STOP_SIGNALS or exit_code in _PLANNED_STOP_CODES
    )
    if returncode == 0 or planned:
        return NodeResult(node_id=node_id, ok=True, exit_code=exit_code, signal=signum)
    status = describe_status(returncode)
    killed = signum == signal.SIGKILL
    if kill is Kill.FINISH:
        cause = f"did not finish within finish_grace_secs after all its inputs closed ({status})"
    elif killed and kill is Kill.GRACE:
        cause = f"killed because it did not stop within the grace period ({status})"
    elif killed and kill is Kill.FORCE:
        cause = f"killed by a forced stop ({status})"
    elif killed and kill is Kill.HEALTH:
        cause = f"killed by the health check: no activity within health_check_timeout ({status})"
    elif cascade_from is not None:
        cause = f"cascading failure ({status}) after node {cascade_from} failed to start"
    elif not subscribed:
        cause = f"exited before initializing dora ({status})"
    else:
        cause = f"exited with {status}"
    return NodeResult(
        node_id=node_id,
        ok=False,
        exit_code=exit_code,
        signal=signum,
        cause=cause,
        stderr_tail=list(stderr_tail),
    )
