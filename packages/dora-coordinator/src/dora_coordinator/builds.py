"""Distributed builds: ``dora build`` of a dataflow whose nodes are deployed to machines.

The CLI's ``build`` request is placed exactly like a start (:mod:`dora_coordinator.placement`)
and answered at once with the build id and the placement, or with the placement error.
Each involved daemon then gets a ``build`` command for its nodes; the daemons run them
concurrently and stream output lines back (``build_output`` events), which
:class:`Builds` forwards to the CLI connection that asked. When every daemon answered,
that connection gets ``build_finished`` with the first failure in placement order
(None: every build succeeded). Builds are not recorded: nothing survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from dora_coordinator.background import Background
from dora_coordinator.links import Links, connected
from dora_coordinator.placement import DaemonCandidate, group_by_daemon, place_nodes
from dora_coordinator.state import CoordinatorState, StateError
from dora_coordinator.tracing import SpanRecorder
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon
from dora_message.daemon_to_coordinator import BuildOutput
from dora_message.descriptor import Descriptor
from dora_message.errors import DescriptorError
from dora_message.validate import validate

log = logging.getLogger(__name__)

# Builds may compile for a long time; a daemon that goes away fails its build at once.
BUILD_TIMEOUT = 24 * 3600.0

OutputSink = Callable[[str, str, str], None]
"""``sink(daemon_id, node_id, line)``."""


def place_build(state: CoordinatorState, descriptor: Descriptor) -> dict[str, list[str]]:
    """Check the descriptor and place its nodes on the connected daemons, as for a start."""
    try:
        validate(descriptor)
    except DescriptorError as error:
        raise StateError(f"invalid dataflow descriptor: {error}") from None
    candidates = [
        DaemonCandidate(d.daemon_id, d.machine_id, d.labels) for d in state.daemons.values()
    ]
    return group_by_daemon(place_nodes(descriptor, candidates))


class Builds:
    """Running builds: started for a CLI connection, their output routed back to it."""

    def __init__(
        self,
        state: CoordinatorState,
        links: Links,
        tracer: SpanRecorder,
        background: Background,
    ) -> None:
        self.state = state
        self.links = links
        self.tracer = tracer
        self.background = background
        self._sinks: dict[str, OutputSink] = {}

    def output(self, daemon_id: str, event: BuildOutput) -> None:
        """A daemon sent an output line: to whoever asked for that build."""
        sink = self._sinks.get(event.build_id)
        if sink is not None:
            sink(daemon_id, event.node_id, event.line)

    def start(
        self, body: req.BuildDataflow, push: Callable[[rep.PushEvent], None]
    ) -> rep.BuildTriggered:
        """Place the build, send it to the daemons in the background, push output and the end.

        Traced as ``build_dataflow``, which stays open until every daemon answered.
        """
        tracer = self.tracer
        span = tracer.start("build_dataflow")
        try:
            with tracer.activate(span, finish=False), tracer.span("place_nodes") as plan:
                groups = place_build(self.state, body.descriptor)
                plan.record("daemons", len(groups))
        except BaseException:
            tracer.finish(span)
            raise
        build_id = str(uuid.uuid4())
        span.record("build_id", build_id)

        def on_output(daemon_id: str, node_id: str, line: str) -> None:
            push(
                rep.BuildOutputEvent(
                    build_id=build_id, node_id=node_id, line=line, daemon_id=daemon_id
                )
            )

        async def run() -> None:
            self._sinks[build_id] = on_output
            try:
                with tracer.activate(span):
                    error = await self._build_on_daemons(build_id, body, groups)
                    if error is not None:
                        span.record("error", error)
            except Exception as exc:  # the CLI waits for build_finished: always send it
                log.exception("build %s failed in the coordinator", build_id)
                error = f"internal coordinator error: {exc}"
            finally:
                self._sinks.pop(build_id, None)  # late lines are dropped
            log.info("build %s finished: %s", build_id, error or "ok")
            push(rep.BuildFinishedEvent(build_id=build_id, error=error))

        log.info("build %s on daemon(s) %s", build_id, ", ".join(groups))
        self.background.run(run())
        return rep.BuildTriggered(build_id=build_id, placement=groups)

    async def _build_on_daemons(
        self, build_id: str, body: req.BuildDataflow, groups: dict[str, list[str]]
    ) -> str | None:
        """Build on every daemon at once; the first failure in placement order, or None."""
        daemons = self.state.daemons

        def where(daemon_id: str) -> str:
            info = daemons.get(daemon_id)
            machine = info.machine_id if info is not None else None
            return f"machine `{machine}`" if machine else f"daemon `{daemon_id}`"

        async def build_on(daemon_id: str, nodes: list[str]) -> None:
            with self.tracer.span("build_on_daemon", daemon_id=daemon_id, nodes=",".join(nodes)):
                link = connected(self.links, daemon_id)
                info = daemons.get(daemon_id)
                command = to_daemon.BuildDataflow(
                    build_id=build_id,
                    descriptor=body.descriptor,
                    nodes=nodes,
                    working_dir=body.working_dir,
                    uv=body.uv,
                    machine_id=info.machine_id if info is not None else None,
                )
                await link.command(command, timeout=BUILD_TIMEOUT)

        outcomes = await asyncio.gather(
            *(build_on(daemon_id, nodes) for daemon_id, nodes in groups.items()),
            return_exceptions=True,
        )
        for daemon_id, outcome in zip(groups, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                return f"build failed on {where(daemon_id)}: {outcome}"
        return None
