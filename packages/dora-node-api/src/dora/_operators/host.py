"""The runtime node: one :class:`~dora.Node`, several operators, one event loop.

Each event goes to the operator it belongs to, with the operator's prefix taken off its
input id (``op/tick`` reaches operator ``op`` as ``tick``); STOP and ERROR go to every
operator, and events that belong to no input (parameters, restarts of upstream nodes)
to every Python operator. Operators run one at a time, on this thread, in the order the
node receives events: an operator never sees its events reordered, and a STOP_ALL or a
failure takes effect before anything else runs (the node's input queues already bound
what waits).

An operator that returns STOP is dropped and its outputs are closed; the node ends
when every operator has stopped, or when its event stream ends (STOP from the daemon,
all inputs closed). STOP_ALL from any operator stops the others (a STOP event, then
drop) and ends the node with exit code 0. A failing operator (exception, error result)
ends the node with exit code 1 and a message naming the operator; a crashing one
(SIGSEGV in a shared library) is named by the helper library's signal handler. In both
cases the node's restart policy applies.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

from dora._config import whole_descriptor
from dora._operators.outcome import STOP, STOP_ALL, OperatorFailed
from dora._operators.spec import OperatorSpec, operator_specs
from dora.events import (
    ERROR,
    INPUT,
    INPUT_CLOSED,
    INPUT_RECOVERED,
    NODE_FAILED,
    RELOAD,
    Event,
    stop_event,
)
from dora.events import STOP as STOP_EVENT
from dora.node import Node
from dora_message.config import NodeConfig, decode_node_config
from dora_message.constants import ENV_NODE_CONFIG

_OWNED = frozenset((INPUT, INPUT_CLOSED, INPUT_RECOVERED))
_TO_ALL = frozenset((STOP_EVENT, ERROR))


class Operator(Protocol):
    id: str
    kind: str

    def on_event(self, event: Event) -> int: ...

    def drop(self) -> None: ...


class Host:
    """The operators of one runtime node and the rules of their lives."""

    def __init__(self, config: NodeConfig, specs: list[OperatorSpec]) -> None:
        self.node_id = config.node_id
        self._config = config
        self._descriptor: dict[str, Any] | None = None
        self.specs = specs
        self.running: dict[str, Operator] = {}  # in descriptor order
        self._node: Node | None = None

    @property
    def descriptor(self) -> dict[str, Any]:
        """The whole dataflow descriptor Python operators see, read when one first needs
        it (a large dataflow's comes from the daemon's file, ``dora._config``)."""
        if self._descriptor is None:
            self._descriptor = whole_descriptor(self._config)
        return self._descriptor

    @property
    def node(self) -> Node:
        if self._node is None:
            raise RuntimeError("operators cannot send before the dataflow started")
        return self._node

    # ---- life ------------------------------------------------------------------------

    def load(self) -> None:
        """Create every operator, in descriptor order. Done before joining the dataflow:
        a slow ``dora_init_operator`` or import delays the start instead of letting the
        first inputs pile up, and a failure is a failure to start."""
        for spec in self.specs:
            self.running[spec.id] = self._create(spec)

    def attach(self, node: Node) -> None:
        """Join the dataflow: from now on operators receive events and may send."""
        self._node = node

    def _create(self, spec: OperatorSpec) -> Operator:
        if spec.kind == "python":
            from dora._operators.python_op import PythonOperator

            try:
                return PythonOperator(spec.id, spec.path, self._sender(spec.id), self.descriptor)
            except Exception as error:
                import traceback

                traceback.print_exc()
                raise OperatorFailed(f"operator `{spec.id}` failed to load: {error}") from None
        from dora._operators.native_op import NativeOperator

        prefix = f"{spec.id}/"

        def send_array(output_id: str, array: Any) -> None:
            self.node.send_output(prefix + output_id, array)

        try:
            return NativeOperator(spec.id, spec.path, self.node_id, send_array)
        except RuntimeError as error:  # the helper library itself
            raise OperatorFailed(f"operator `{spec.id}`: {error}") from None

    def _sender(self, op_id: str) -> Any:
        prefix = f"{op_id}/"

        def send(output_id: str, data: Any, metadata: dict[str, Any] | None = None) -> None:
            self.node.send_output(prefix + output_id, data, metadata)

        return send

    def run(self) -> None:
        """Deliver events until every operator stopped or the stream ended."""
        for event in self.node:
            kind = event["type"]
            if kind == RELOAD:
                self._reload(event.get("id"))
                continue
            for operator, own_event in self._route(event):
                if operator.id not in self.running:
                    continue  # stopped by an earlier delivery of this very event
                status = operator.on_event(own_event)
                if status == STOP:
                    self._stop_one(operator)
                elif status == STOP_ALL:
                    self._stop_all(operator)
                    return
            if not self.running:
                return

    def _stop_one(self, operator: Operator) -> None:
        del self.running[operator.id]
        operator.drop()
        if not self.running:
            return  # closing the node closes every output
        prefix = f"{operator.id}/"
        outputs = [o for o in self.node.node_config()["outputs"] if o.startswith(prefix)]
        if outputs:
            self.node.close_outputs(outputs)

    def _stop_all(self, origin: Operator) -> None:
        print(
            f"operator `{origin.id}` asked to stop the whole runtime node (STOP_ALL)",
            file=sys.stderr,
            flush=True,
        )
        del self.running[origin.id]
        origin.drop()
        while self.running:  # one at a time: after a failure, abandon() drops the rest
            operator = self.running[next(iter(self.running))]
            operator.on_event(stop_event())  # its status no longer matters; a failure does
            del self.running[operator.id]
            operator.drop()

    def drop_all(self) -> None:
        """The stream ended: drop what still runs, in descriptor order."""
        while self.running:
            operator = self.running.pop(next(iter(self.running)))
            operator.drop()

    def abandon(self) -> None:
        """After a failure: drop the others too, ignoring what else goes wrong."""
        while self.running:
            operator = self.running.pop(next(iter(self.running)))
            try:
                operator.drop()
            except OperatorFailed as error:
                print(f"while failing: {error}", file=sys.stderr, flush=True)

    # ---- routing ---------------------------------------------------------------------

    def _route(self, event: Event) -> list[tuple[Operator, Event]]:
        kind = event["type"]
        if kind in _OWNED:
            op_id, _, bare = str(event.get("id", "")).partition("/")
            operator = self.running.get(op_id)
            return [(operator, {**event, "id": bare})] if operator is not None else []
        if kind in _TO_ALL:
            return [(operator, dict(event)) for operator in self.running.values()]
        python = [op for op in self.running.values() if op.kind == "python"]
        if kind == NODE_FAILED:
            return self._route_failure(event, python)
        return [(operator, dict(event)) for operator in python]

    def _route_failure(self, event: Event, python: list[Operator]) -> list[tuple[Operator, Event]]:
        """NODE_FAILED: to each Python operator that lost inputs, with its own bare ids."""
        value = event.get("value") or {}
        affected = [str(i) for i in value.get("affected_input_ids") or []]
        routed = []
        for operator in python:
            prefix = f"{operator.id}/"
            own = [i.removeprefix(prefix) for i in affected if i.startswith(prefix)]
            if own:
                routed.append((operator, {**event, "value": {**value, "affected_input_ids": own}}))
        return routed

    def _reload(self, op_id: Any) -> None:
        operator = self.running.get(op_id) if isinstance(op_id, str) else None
        if operator is None:
            print(f"ignoring a reload of unknown operator `{op_id}`", file=sys.stderr)
        elif operator.kind != "python":
            print(
                f"operator `{op_id}` is a {operator.kind} operator: only Python operators "
                "hot-reload",
                file=sys.stderr,
            )
        else:
            operator.reload()  # type: ignore[attr-defined]


def start_runtime() -> None:
    """Run the runtime node's operators until they stop; exit code 1 on any failure."""
    specs = operator_specs()  # may set DORA_NODE_CONFIG (from DORA_RUNTIME_CONFIG)
    raw = os.environ.get(ENV_NODE_CONFIG)
    if raw is None:
        raise RuntimeError(f"{ENV_NODE_CONFIG} env variable is not set")
    host = Host(decode_node_config(raw), specs)
    try:
        host.load()
    except OperatorFailed as failure:
        print(f"node `{host.node_id}`: {failure}", file=sys.stderr, flush=True)
        host.abandon()
        sys.exit(1)
    node = Node()
    host.attach(node)
    try:
        host.run()
        host.drop_all()
    except OperatorFailed as failure:
        print(f"node `{host.node_id}`: {failure}", file=sys.stderr, flush=True)
        host.abandon()
        node._close(clean=False)  # a failure: a node that may restart keeps its outputs open
        sys.exit(1)
    node.close()
