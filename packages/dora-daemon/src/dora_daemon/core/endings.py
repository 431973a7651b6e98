"""How a node ends for good, sans-I/O: its result (:func:`~dora_daemon.results.node_result`),
its status, its outputs closed to the receivers, and the finish rule: a running node
whose inputs all closed gets ``finish_grace_secs`` to exit, then its own stop ladder, as
a failure."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dora_daemon.core import actions as act
from dora_daemon.core.finish_graces import FinishGraces
from dora_daemon.core.outbox import Outbox
from dora_daemon.core.start_verdict import StartVerdict
from dora_daemon.core.stopping import Stopping
from dora_daemon.core.supervised import LastExit, Supervised
from dora_daemon.missed import MissedMessages
from dora_daemon.resolve import ResolvedDataflow
from dora_daemon.restart import Decision
from dora_daemon.results import Kill, describe_status, exited_before_init, node_result
from dora_daemon.routing import Router
from dora_message.common import NodeResult

log = logging.getLogger(__name__)


class Endings:
    """Results of the nodes that ended, and the finish graces in progress."""

    def __init__(
        self,
        dataflow: ResolvedDataflow,
        nodes: Mapping[str, Supervised],
        *,
        out: Outbox,
        router: Router,
        stopping: Stopping,
        verdict: StartVerdict,
        missed: MissedMessages,
        finish_grace: float | None,
    ) -> None:
        """``nodes``: the run's spawned nodes (shared with the core); ``finish_grace``:
        the default ``finish_grace_secs`` (None: off)."""
        self._dataflow = dataflow
        self._nodes = nodes
        self._out = out
        self._router = router
        self._stopping = stopping
        self._verdict = verdict
        self._missed = missed
        self.finish = FinishGraces(finish_grace)
        self.results: dict[str, NodeResult] = {}

    def spawn_failed(self, node_id: str, node: Supervised, message: str, now: float) -> None:
        """The node could not start: it failed, for good."""
        self._verdict.spawn_failed(node_id)
        self.results[node_id] = NodeResult(node_id=node_id, ok=False, cause=message)
        node.status = "Failed"
        self._out.add(act.CloseChannel(node_id, clean=False, error=message))
        self._router.node_failed(node_id, message)
        self._producer_ended(node_id, now)
        self._done(node_id, node)

    def ended(self, node_id: str, node: Supervised, decision: Decision, now: float) -> None:
        """The node will not run again: record its result and close its outputs."""
        last = node.last_exit
        assert last is not None
        self._close(node_id, node, last, now)
        self._missed.ended(node_id)
        result = self.results[node_id]
        node.status = "Stopped" if result.ok else "Failed"
        tracker = node.tracker
        if tracker is not None and tracker.policy.mode != "never" and not self._stopping.requested:
            if result.ok:
                log.warning(
                    "node %s exited (%s) and is not restarted: %s",
                    node_id,
                    describe_status(last.returncode),
                    decision.reason,
                )
            else:
                # the traceback itself is in the node's output and the final summary
                tail = last.stderr_tail
                log.error(
                    "node %s failed (%s) and is not restarted: %s (%d restart(s) so far)%s",
                    node_id,
                    describe_status(last.returncode),
                    decision.reason,
                    tracker.restarts,
                    f"; last stderr line: {tail[-1]}" if tail else "",
                )
        self._done(node_id, node)

    def tick(self, now: float) -> None:
        """Finish graces due by ``now``: their nodes are stopped."""
        for due in self.finish.due(now):
            self._straggler(due.node_id, due.grace, now)

    def _done(self, node_id: str, node: Supervised) -> None:
        """The node ended for good (its final status, Stopped or Failed, is set)."""
        node.restart_at = None
        self._out.add(act.Report(self.results[node_id]))

    def _close(self, node_id: str, node: Supervised, last: LastExit, now: float) -> None:
        self._out.add(act.StopTicking(node_id))
        self.finish.forget(node_id)
        returncode, subscribed = last.returncode, last.subscribed
        cascade = self._verdict.exited(node_id, returncode, subscribed)
        planned = self._stopping.requested or node.stop_requested
        result = self.results[node_id] = node_result(
            node_id,
            returncode,
            stderr_tail=last.stderr_tail,
            subscribed=subscribed,
            stop_requested=planned,
            kill=self._stopping.kill_reason(node_id),
            cascade_from=cascade,
        )
        if not subscribed and returncode == 0 and not planned:
            # a clean exit without ever creating its Node: say so, as dora-rs does
            log.warning(
                "node %s exited before initializing dora (it never created a Node)", node_id
            )
        # A planned-stop exit before subscribing is no start failure.
        error = exited_before_init(node_id, returncode, last.stderr_tail)
        self._out.add(act.CloseChannel(node_id, clean=result.ok, error=error))
        if not result.ok:  # before InputClosed: receivers learn why first
            self._router.node_failed(node_id, result.cause or "failed")
        self._producer_ended(node_id, now)

    def _producer_ended(self, node_id: str, now: float) -> None:
        """Receivers here get InputClosed; remote ones once the bridge read all its data."""
        self._router.close_outputs(node_id)
        self._out.add(act.ProducerEnded(node_id))
        self._watch_finished_receivers(node_id, now)

    def _watch_finished_receivers(self, producer: str, now: float) -> None:
        """Arm the finish grace of every running receiver whose inputs are now all closed."""
        for receiver in self._router.downstream(producer):
            node = self._nodes.get(receiver)
            if node is None or not node.running:
                continue
            if self._router.all_inputs_closed(receiver):
                spec = self._dataflow.nodes[receiver].descriptor_node
                self.finish.arm(receiver, spec.finish_grace_secs, now)

    def _straggler(self, node_id: str, grace: float, now: float) -> None:
        """``node_id`` outlived its finish grace: stop it with the ladder, as a failure."""
        node = self._nodes.get(node_id)
        if node is None or not node.running:
            return
        if self._stopping.requested:
            return  # the dataflow stop handles it
        log.warning(
            "node %s still runs %.1f s after all its inputs closed: stopping it", node_id, grace
        )
        self._stopping.blame(node_id, Kill.FINISH)
        self._stopping.stop_one(node_id, node, self._stopping.grace, restart=False, now=now)
