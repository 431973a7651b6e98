"""Inputs the daemon produces itself: closed inputs and log lines as data.

Data between nodes never passes here (nodes send directly); the daemon only tells
receivers when a producer's outputs close, and turns node output into inputs for
``send_stdout_as``, ``send_logs_as`` and ``dora/logs`` subscribers (spec/runtime.md §10-§11).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from dora_daemon.peer_log import peer_json
from dora_daemon.resolve import ResolvedDataflow
from dora_message.common import LogMessage, level_passes
from dora_message.node_protocol import (
    DaemonToNode,
    InputClosed,
    NodeFailed,
    NodeRestarted,
    TextInput,
)

LOG_INPUT_BUFFER_LIMIT = 4 * 1024 * 1024  # unread bytes after which log inputs are dropped


class Sender(Protocol):
    """Where messages to nodes go (the control server)."""

    def send(self, node_id: str, message: DaemonToNode) -> None: ...

    def send_droppable(self, node_id: str, message: DaemonToNode, limit: int) -> None: ...


class Router:
    """Closed-input bookkeeping and daemon-made inputs of one dataflow."""

    def __init__(
        self,
        dataflow: ResolvedDataflow,
        sender: Sender,
        on_log: Callable[[LogMessage], None],
    ) -> None:
        self._dataflow = dataflow
        self._sender = sender
        self._on_log = on_log
        self._open = set(dataflow.consumers)  # (producer, output) not closed yet
        # the routing table (fixed once resolved) by node: a node ending costs its own edges
        self._outputs_of: dict[str, list[str]] = {}  # producer -> its read outputs, sorted
        self._read_by: dict[str, list[tuple[str, str]]] = {}  # receiver -> keys it reads, sorted
        for producer, output in sorted(dataflow.consumers):
            self._outputs_of.setdefault(producer, []).append(output)
            for receiver in dataflow.consumers[producer, output]:
                self._read_by.setdefault(receiver, []).append((producer, output))

    def close_outputs(self, producer: str, outputs: Iterable[str] | None = None) -> None:
        """Tell every receiver that these outputs of ``producer`` (default: all) closed.

        Each receiver gets one :class:`InputClosed` naming all its affected inputs;
        outputs already closed are not announced twice.
        """
        wanted = None if outputs is None else set(outputs)
        closed: dict[str, list[str]] = {}
        for output in self._outputs_of.get(producer, ()):
            key = (producer, output)
            if key not in self._open or (wanted is not None and output not in wanted):
                continue
            self._open.discard(key)
            for receiver, input_ids in self._dataflow.consumers[key].items():
                closed.setdefault(receiver, []).extend(input_ids)
        for receiver, input_ids in closed.items():
            self._sender.send(receiver, InputClosed(input_ids=input_ids, source_node=producer))

    def reopen_outputs(self, producer: str) -> None:
        """``producer`` (a dynamic node) joins again: its outputs count as open."""
        self._open.update((producer, output) for output in self._outputs_of.get(producer, ()))

    def downstream(self, producer: str) -> dict[str, list[str]]:
        """Every receiver of ``producer``'s outputs with the input ids they read them on."""
        receivers: dict[str, list[str]] = {}
        for output in self._outputs_of.get(producer, ()):
            for receiver, input_ids in self._dataflow.consumers[producer, output].items():
                receivers.setdefault(receiver, []).extend(input_ids)
        return receivers

    def node_restarted(self, producer: str) -> None:
        """``producer`` exited and will be started again: one NodeRestarted per receiver."""
        for receiver in self.downstream(producer):
            self._sender.send(receiver, NodeRestarted(source_node=producer))

    def node_failed(self, producer: str, error: str) -> None:
        """``producer`` failed for good: every receiver learns which inputs it affects."""
        for receiver, input_ids in self.downstream(producer).items():
            message = NodeFailed(source_node=producer, error=error, affected_input_ids=input_ids)
            self._sender.send(receiver, message)

    def closed_inputs(self, receiver: str) -> dict[str, list[str]]:
        """Inputs of ``receiver`` whose outputs closed already, by producer (catch-up)."""
        closed: dict[str, list[str]] = {}
        for key in self._read_by.get(receiver, ()):
            if key not in self._open:
                closed.setdefault(key[0], []).extend(self._dataflow.consumers[key][receiver])
        return closed

    def all_inputs_closed(self, node_id: str) -> bool:
        """Whether ``node_id`` has inputs and every one of them closed for good.

        Timer and log inputs never close, so a node reading one never qualifies.
        """
        node = self._dataflow.nodes.get(node_id)
        if node is None or not node.config.inputs:
            return False
        for spec in node.config.inputs.values():
            producer, _, output = spec.source.partition("/")
            if producer == "dora" or (producer, output) in self._open:
                return False
        return True

    def stdout_line(self, node_id: str, line: str) -> None:
        """Forward a raw output line of ``node_id`` when it has ``send_stdout_as``."""
        output = self._dataflow.nodes[node_id].send_stdout_as
        if output is not None:
            self._send_text(node_id, output, line + "\n")

    def publish_log(self, node_id: str, record: LogMessage) -> None:
        """Deliver a record that passed the node's filter: subscribers, send_logs_as, display."""
        text: str | None = None
        for subscriber, input_ids in self._log_subscribers(node_id, record.level).items():
            text = text or peer_json(record)  # dora-rs's layout: programs read it unchanged
            message = TextInput(input_ids=input_ids, text=text, timestamp_ns=time.time_ns())
            self._sender.send_droppable(subscriber, message, LOG_INPUT_BUFFER_LIMIT)
        output = self._dataflow.nodes[node_id].send_logs_as
        if output is not None and record.level != "stdout":  # only structured records
            self._send_text(node_id, output, text or peer_json(record))
        self._on_log(record)

    def _log_subscribers(self, node_id: str, level: str) -> dict[str, list[str]]:
        matches: dict[str, list[str]] = {}
        for sub in self._dataflow.log_subscribers:
            if sub.node_id == node_id:
                continue  # a node never receives its own logs
            if sub.source_node is not None and sub.source_node != node_id:
                continue
            if sub.level is not None and not level_passes(level, sub.level):
                continue
            matches.setdefault(sub.node_id, []).append(sub.input_id)
        return matches

    def _send_text(self, producer: str, output: str, text: str) -> None:
        receivers = self._dataflow.consumers.get((producer, output))
        if not receivers or (producer, output) not in self._open:
            return
        timestamp_ns = time.time_ns()
        for receiver, input_ids in receivers.items():
            message = TextInput(input_ids=input_ids, text=text, timestamp_ns=timestamp_ns)
            self._sender.send_droppable(receiver, message, LOG_INPUT_BUFFER_LIMIT)
