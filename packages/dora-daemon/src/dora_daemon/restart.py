"""Restart policies, sans-I/O (spec/runtime.md §7).

One :class:`RestartTracker` per supervised node decides, on each exit of the node's
process, whether the daemon spawns it again and after how long:

1. the policy: ``always`` restarts any exit, ``on-failure`` a failed one, ``never``
   none; a forced restart (``dora node restart``) restarts whatever the policy says;
2. nothing restarts once restarts are disabled (the dataflow or the node is stopping,
   or every input of the node closed for good);
3. with ``restart_window``, a window older than that starts afresh (count and backoff);
4. ``max_restarts`` (0 = unlimited) bounds the restarts inside one window;
5. the delay is ``restart_delay * 2 ** (n - 1)`` for the n-th restart of the window
   (exponent capped at 16), capped by ``max_restart_delay``.

A forced restart happens at once and does not use up the budget: the user asked for it.
Times are plain floats from a monotonic clock chosen by the caller.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import msgspec

from dora_daemon.resolve import ResolvedNode
from dora_message.config import encode_node_config
from dora_message.constants import ENV_NODE_CONFIG
from dora_message.descriptor import Node

BACKOFF_EXPONENT_CAP = 16


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """The restart keys of one node."""

    mode: str = "never"  # never | on-failure | always
    max_restarts: int = 0  # 0 = unlimited
    restart_delay: float | None = None
    max_restart_delay: float | None = None
    restart_window: float | None = None

    @classmethod
    def of(cls, node: Node) -> RestartPolicy:
        """The policy a descriptor node declares (default: never)."""
        return cls(
            mode=node.restart_policy or "never",
            max_restarts=node.max_restarts or 0,
            restart_delay=node.restart_delay,
            max_restart_delay=node.max_restart_delay,
            restart_window=node.restart_window,
        )

    def backoff(self, nth: int) -> float:
        """The delay before the ``nth`` restart (1-based) of a window."""
        if not self.restart_delay:
            return 0.0
        delay = self.restart_delay * 2.0 ** min(nth - 1, BACKOFF_EXPONENT_CAP)
        if self.max_restart_delay is not None:
            delay = min(delay, self.max_restart_delay)
        return delay


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after an exit: restart after ``delay`` seconds, or not (``reason``)."""

    restart: bool
    delay: float = 0.0
    reason: str = ""


class RestartTracker:
    """Restart bookkeeping of one node across its incarnations."""

    __slots__ = ("policy", "restarts", "window_count", "window_start")

    def __init__(self, policy: RestartPolicy, now: float) -> None:
        self.policy = policy
        self.window_start = now  # the window opens when the node is first spawned
        self.window_count = 0
        self.restarts = 0  # total over the node's life, never reset

    def on_exit(
        self, *, success: bool, now: float, disabled: str | None = None, forced: bool = False
    ) -> Decision:
        """Decide about one exit. ``disabled`` says why restarts are off, if they are."""
        policy = self.policy
        if disabled is not None:
            return Decision(False, reason=disabled)
        if forced:
            self.restarts += 1
            return Decision(True, reason="restart requested")
        if policy.mode == "never":
            return Decision(False, reason="restart_policy is never")
        if policy.mode == "on-failure" and success:
            return Decision(False, reason="it exited successfully (restart_policy on-failure)")
        if policy.mode not in ("on-failure", "always"):
            return Decision(False, reason=f"unknown restart_policy {policy.mode!r}")
        window = policy.restart_window
        if window is not None and now - self.window_start > window:
            self.window_start = now
            self.window_count = 0
        self.window_count += 1
        if policy.max_restarts > 0 and self.window_count > policy.max_restarts:
            return Decision(False, reason=f"it reached max_restarts ({policy.max_restarts})")
        self.restarts += 1
        return Decision(True, delay=policy.backoff(self.window_count), reason="restart_policy")


def with_restart_count(node: ResolvedNode, count: int) -> ResolvedNode:
    """The node as spawned for its ``count``-th restart (fresh ``DORA_NODE_CONFIG``)."""
    config = msgspec.structs.replace(node.config, restart_count=count)
    env = dict(node.env)
    env[ENV_NODE_CONFIG] = encode_node_config(config)
    return dataclasses.replace(node, config=config, env=env)
