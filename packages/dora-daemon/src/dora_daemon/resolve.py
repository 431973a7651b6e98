"""Turn a descriptor into what the daemon runs: commands, environments, routes, timers.

Sans-I/O apart from checking that node files exist and, for a dataflow too large to
hand each node whole, writing its descriptor once to ``out/<uuid>/descriptor.json``:
every input that depends on the host (environment, interpreter, parent pid, addresses)
is a parameter, so the result is a pure function of its arguments. See
spec/descriptor.md §5-§8 and spec/runtime.md §3.

Every node's command line and environment are checked against the kernel's exec limits
here, so a node that cannot be started is a :class:`DescriptorError` naming it and the
sizes, not an E2BIG from exec; its ``DORA_NODE_CONFIG`` is bounded whatever the size of
the dataflow (``dora_message.config``).

When only some nodes run here (``local``), the routing table still covers the whole
dataflow, but only local nodes are resolved to run; an output read on another machine
is routed to the daemon's bridge (``bridge_address``) once, whatever the number of
remote readers.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dora_daemon.bridge import BRIDGE_NODE_ID, WATCH_NODE_ID
from dora_daemon.commands import DEFAULT_OPERATOR_ID, NodeKind, NodeStart, node_start
from dora_daemon.logs import LogSettings, log_settings
from dora_daemon.node_env import SCRUBBED_HOST_ENV, descriptor_env
from dora_message.auth import link_token, new_key, node_secret
from dora_message.common import normalize_level
from dora_message.config import (
    INLINE_CONFIG_BYTES,
    MAX_CONFIG_BYTES,
    InputConfig,
    NodeConfig,
    Receiver,
    encode_node_config,
)
from dora_message.constants import ENV_NODE_CONFIG, ENV_RUN_PARENT_PID, ENV_ZERO_COPY_THRESHOLD
from dora_message.descriptor import Descriptor, Input, Node, Operator
from dora_message.errors import DescriptorError
from dora_message.peer import allow_root_from_env
from dora_message.private_files import make_private_dirs, open_private
from dora_message.sources import LogsSource, TimerSource, UserSource, parse_input_source
from dora_message.units import parse_size

_MAX_ABSTRACT_NAME = 107  # sun_path is 108 bytes, the first is the abstract-namespace NUL

DEFAULT_ZERO_COPY_THRESHOLD = 4096  # bytes, as in DESIGN.md
# Linux's exec limits: one argument or ``KEY=VALUE`` string (NUL included), and all of
# them with their pointers (a quarter of the stack limit, usually 2 MB; some room kept
# for what the kernel adds: the file name, the auxiliary vector)
MAX_ARG_STRLEN = 32 * 4096
_EXEC_ROOM = 8 * 1024
DESCRIPTOR_FILE = "descriptor.json"  # under out/<dataflow-uuid>/, beside the logs
_json = msgspec.json.Encoder()


def _arg_max() -> int:
    try:
        value = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        value = -1
    return value if value > 0 else 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResolvedNode:
    """One node, ready to spawn."""

    id: str
    kind: NodeKind
    argv: tuple[str, ...]  # empty for dynamic nodes
    cwd: Path
    # the complete child environment (its DORA_NODE_CONFIG holds the node's secret: no repr)
    env: dict[str, str] = field(repr=False)
    config: NodeConfig
    logs: LogSettings
    send_stdout_as: str | None  # full output id (``op/x`` for operator nodes)
    send_logs_as: str | None
    cpu_affinity: tuple[int, ...] | None
    descriptor_node: Node  # its restart and health-check keys (core/dataflow.py)


@dataclass(frozen=True, slots=True)
class LogSubscriber:
    """A ``dora/logs[/level[/node]]`` input."""

    node_id: str
    input_id: str
    level: str | None
    source_node: str | None


@dataclass(slots=True)
class ResolvedDataflow:
    """Every local node plus the routing tables of the daemon (spec/runtime.md §5.5)."""

    dataflow_id: str
    daemon_address: str
    nodes: dict[str, ResolvedNode]  # the nodes that run here
    # the dataflow run's key: node secrets and link tokens derive from it (auth.py)
    key: bytes = field(default=b"", repr=False)
    # (producer node, output id) -> {receiver node: [input ids]}, for the whole dataflow
    consumers: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    # interval in ns -> {node: [input ids]}
    timers: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    log_subscribers: list[LogSubscriber] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def static_nodes(self) -> list[str]:
        """Nodes the daemon spawns (everything but dynamic nodes), in descriptor order."""
        return [n.id for n in self.nodes.values() if n.kind is not NodeKind.DYNAMIC]


def node_address(dataflow_id: str, node_id: str) -> str:
    """The abstract Unix socket name a node listens on for data."""
    name = f"dora-{dataflow_id}-{node_id}"
    if len(name.encode()) > _MAX_ABSTRACT_NAME:
        digest = hashlib.sha256(node_id.encode()).hexdigest()[:24]
        name = f"dora-{dataflow_id}-{digest}"
    return "\0" + name


def daemon_address(dataflow_id: str, token: str) -> str:
    """The abstract Unix socket name of the daemon's control server."""
    return f"\0dora-daemon-{dataflow_id}-{token}"


def resolve_dataflow(
    descriptor: Descriptor,
    base_dir: Path,
    *,
    dataflow_id: str,
    daemon_address: str,
    host_env: Mapping[str, str],
    parent_pid: int,
    uv: bool = False,
    allow_shell_nodes: bool = False,
    python: str = sys.executable,
    sources: Mapping[str, tuple[Path, str]] | None = None,
    local: Collection[str] | None = None,
    bridge_address: str | None = None,
    watch_address: str | None = None,
    key: bytes | None = None,
) -> ResolvedDataflow:
    """Resolve the nodes of ``descriptor`` that run here (``local``, default: all).

    ``sources`` gives, per fetched node (git clone, download), its working directory
    and the ``path`` to run instead of the descriptor's (see ``dora_daemon.sources``).
    ``bridge_address`` is where the daemon receives outputs read on other machines; it
    is required when some local output has a remote reader. ``watch_address`` is where
    the daemon's tap for ``dora topic`` receives: given, every local output goes there too.
    ``key`` is the dataflow run's secret key (a fresh one when None): every node's
    config carries its own secret and the link tokens of its connections, derived from
    it (``dora_message.auth``).
    Raises :class:`DescriptorError` naming the node.
    """
    key = new_key() if key is None else key
    base_dir = base_dir.resolve()
    fetched = sources or {}
    here = {node.id for node in descriptor.nodes} if local is None else set(local)
    result = ResolvedDataflow(
        dataflow_id=dataflow_id, daemon_address=daemon_address, nodes={}, key=key
    )
    by_id = {node.id: node for node in descriptor.nodes}
    starts: dict[str, NodeStart] = {}
    cwds: dict[str, Path] = {}
    for index, node in enumerate(descriptor.nodes):
        if node.id not in here:
            continue
        cwd, path = fetched.get(node.id, (base_dir, node.path))
        cwds[node.id] = Path(cwd)
        starts[node.id] = node_start(node, path, index, Path(cwd), uv, allow_shell_nodes, python)

    inputs: dict[str, dict[str, InputConfig]] = {}
    for index, node in enumerate(descriptor.nodes):
        inputs[node.id] = _resolve_inputs(node, index, by_id, result, node.id in here)

    host = {k: v for k, v in host_env.items() if k not in SCRUBBED_HOST_ENV}
    threshold = _zero_copy_threshold(host_env)
    allow_root = allow_root_from_env(host_env)
    descriptor_dict = msgspec.to_builtins(descriptor)
    # who sends to whom, indexed once: a per-node scan of every connection was quadratic
    outputs_by_producer: dict[str, list[tuple[str, dict[str, list[str]]]]] = {}
    producers_by_receiver: dict[str, dict[str, None]] = {}  # ordered sets
    for (producer, output), receivers in result.consumers.items():
        outputs_by_producer.setdefault(producer, []).append((output, receivers))
        for receiver in receivers:
            producers_by_receiver.setdefault(receiver, {})[producer] = None
    whole = _DescriptorHandover(descriptor_dict, base_dir / "out" / dataflow_id / DESCRIPTOR_FILE)
    global_env = descriptor_env(descriptor.env, "env", host_env, result.warnings)
    for index, node in enumerate(descriptor.nodes):
        if node.id not in here:
            continue
        source = starts[node.id]
        stdout_as, logs_as = _log_outputs_of(node)
        routes = _routes_of(node.id, outputs_by_producer, result, here, bridge_address)
        if watch_address is not None:
            tap = Receiver(node_id=WATCH_NODE_ID, address=watch_address)
            for output in _declared_outputs(node):
                routes.setdefault(output, []).append(tap)
        routes = {
            output: [
                msgspec.structs.replace(r, token=link_token(key, node.id, r.node_id)) for r in route
            ]
            for output, route in routes.items()
        }
        senders = {
            producer: link_token(key, producer, node.id)
            for producer in producers_by_receiver.get(node.id, ())
        }
        config = NodeConfig(
            dataflow_id=dataflow_id,
            node_id=node.id,
            daemon_address=daemon_address,
            listen_address=node_address(dataflow_id, node.id),
            inputs=inputs[node.id],
            outputs=_declared_outputs(node),
            routes=routes,
            dynamic=source.kind is NodeKind.DYNAMIC,
            zero_copy_threshold=threshold,
            secret=node_secret(key, node.id),
            senders=senders,
            allow_root_peers=allow_root,
        )
        env = dict(host)
        if uv and "VIRTUAL_ENV" not in env and sys.prefix != sys.base_prefix:
            # outside a uv project `uv run` uses the active environment: make it the one
            # this daemon runs in, which has the node API (a project's own env still wins)
            env["VIRTUAL_ENV"] = sys.prefix
        env.update(global_env)
        env.update(descriptor_env(node.env, f"nodes[{index}].env", host_env, result.warnings))
        env.update(source.extra_env)
        spawned = source.kind is not NodeKind.DYNAMIC
        if spawned:  # the user's own values first: they are what to change then
            _check_exec_limits(node.id, index, source.argv, env)
        config = whole.attach(config, index)
        env[ENV_NODE_CONFIG] = encode_node_config(config)
        env["PYTHONUNBUFFERED"] = "1"
        env[ENV_RUN_PARENT_PID] = str(parent_pid)
        if spawned:
            _check_exec_limits(node.id, index, source.argv, env)
        result.nodes[node.id] = ResolvedNode(
            id=node.id,
            kind=source.kind,
            argv=source.argv,
            cwd=cwds[node.id],
            env=env,
            config=config,
            logs=_node_log_settings(node, index),
            send_stdout_as=stdout_as,
            send_logs_as=logs_as,
            cpu_affinity=tuple(node.cpu_affinity) if node.cpu_affinity else None,
            descriptor_node=node,
        )
    return result


class _DescriptorHandover:
    """Hands each node the descriptor: whole inside its config while that stays under
    ``INLINE_CONFIG_BYTES``; else trimmed to the top level and the node's own entry,
    with the whole one written once to ``path`` (created on first need)."""

    def __init__(self, descriptor: dict, path: Path) -> None:
        self._descriptor = descriptor
        self._bytes = len(_json.encode(descriptor))
        self._top = {k: v for k, v in descriptor.items() if k != "nodes"}
        self._path = path
        self._written = False

    def attach(self, config: NodeConfig, index: int) -> NodeConfig:
        """``config`` (with an empty descriptor) with the descriptor it gets; raises
        :class:`DescriptorError` when even the trimmed config is over ``MAX_CONFIG_BYTES``."""
        bare = len(encode_node_config(config))
        if bare + self._bytes <= INLINE_CONFIG_BYTES:
            return msgspec.structs.replace(config, dataflow_descriptor=self._descriptor)
        own = {**self._top, "nodes": [self._descriptor["nodes"][index]]}
        trimmed = msgspec.structs.replace(
            config, dataflow_descriptor=own, descriptor_file=str(self._path)
        )
        size = len(encode_node_config(trimmed))
        if size > MAX_CONFIG_BYTES:
            raise DescriptorError(
                f"node `{config.node_id}`: its DORA_NODE_CONFIG would be {_kib(size)} "
                f"({_kib(size - bare)} of it its own descriptor entry; inputs: "
                f"{len(config.inputs)}, readers of its outputs: "
                f"{sum(len(r) for r in config.routes.values())}), over the "
                f"{_kib(MAX_CONFIG_BYTES)} an environment variable can hold",
                f"nodes[{index}]",
            )
        self._write()
        return trimmed

    def _write(self) -> None:
        if self._written:
            return
        try:
            make_private_dirs(self._path.parent)  # out/ and out/<uuid>/ 0700, as for logs
            with open_private(self._path) as file:
                file.write(_json.encode(self._descriptor))
        except OSError as error:
            raise DescriptorError(
                f"the dataflow is too large to hand each node whole, and its descriptor "
                f"cannot be written to {self._path}: {error.strerror or error}"
            ) from None
        self._written = True


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def _check_exec_limits(
    node_id: str, index: int, argv: tuple[str, ...], env: Mapping[str, str]
) -> None:
    """Raise :class:`DescriptorError` when exec would refuse the node (E2BIG)."""
    where = f"nodes[{index}]"
    for position, arg in enumerate(argv):
        size = len(os.fsencode(arg)) + 1
        if size > MAX_ARG_STRLEN:
            raise DescriptorError(
                f"node `{node_id}`: argument {position} of its command is {_kib(size)}, "
                f"over the {_kib(MAX_ARG_STRLEN)} Linux allows one argument",
                where,
            )
    total = sum(len(os.fsencode(arg)) + 1 + 8 for arg in argv)
    for name, value in env.items():
        size = len(os.fsencode(name)) + len(os.fsencode(value)) + 2
        if size > MAX_ARG_STRLEN:
            raise DescriptorError(
                f"node `{node_id}`: its environment variable `{name}` is {_kib(size)}, "
                f"over the {_kib(MAX_ARG_STRLEN)} Linux allows one variable",
                where,
            )
        total += size + 8
    limit = _arg_max() - _EXEC_ROOM
    if total > limit:
        raise DescriptorError(
            f"node `{node_id}`: its command line and environment are {_kib(total)}, over "
            f"the {_kib(limit)} Linux allows a program to start with",
            where,
        )


def _operator_blocks(node: Node) -> list[tuple[str, Operator, str]]:
    """A runtime node's operators: (id, block, path of the block under the node)."""
    if node.operator is not None:
        return [(node.operator.id or DEFAULT_OPERATOR_ID, node.operator, "operator")]
    return [
        (op.id or DEFAULT_OPERATOR_ID, op, f"operators[{position}]")
        for position, op in enumerate(node.operators or [])
    ]


def _declared_inputs(node: Node, index: int) -> list[tuple[str, Input, str]]:
    """(input id as the node receives it, spec, document path): ``op/in`` for the inputs
    of a runtime node's operators, so the runtime can tell whose input it is."""
    blocks = _operator_blocks(node)
    if not blocks:
        return [(i, spec, f"nodes[{index}].inputs.{i}") for i, spec in node.inputs.items()]
    return [
        (f"{op_id}/{i}", spec, f"nodes[{index}].{place}.inputs.{i}")
        for op_id, op, place in blocks
        for i, spec in op.inputs.items()
    ]


def _declared_outputs(node: Node) -> list[str]:
    """Output ids as the node sends them (``op/out`` for a runtime node's operators)."""
    blocks = _operator_blocks(node)
    if not blocks:
        outputs = list(node.outputs)
    else:
        outputs = [f"{op_id}/{o}" for op_id, op, _ in blocks for o in op.outputs]
    return list(dict.fromkeys(outputs))  # set semantics, first occurrence order


def _resolve_inputs(
    node: Node,
    index: int,
    by_id: Mapping[str, Node],
    result: ResolvedDataflow,
    is_local: bool,
) -> dict[str, InputConfig]:
    """The node's input configs; fills the routing table (timers and logs: local only)."""
    configs: dict[str, InputConfig] = {}
    for full_id, spec, where in _declared_inputs(node, index):
        text = spec if isinstance(spec, str) else spec.source
        try:
            parsed = parse_input_source(text)
        except ValueError as error:
            raise DescriptorError(f"node `{node.id}`: {error}", where) from None
        canonical = text
        if isinstance(parsed, UserSource):
            output = _producer_output(node.id, parsed, by_id, where)
            canonical = f"{parsed.node}/{output}"
            receivers = result.consumers.setdefault((parsed.node, output), {})
            receivers.setdefault(node.id, []).append(full_id)
        elif not is_local:
            continue  # another daemon runs the timers and log routes of its nodes
        elif isinstance(parsed, TimerSource):
            result.timers.setdefault(parsed.interval_ns, {}).setdefault(node.id, []).append(full_id)
        elif isinstance(parsed, LogsSource):
            level = normalize_level(parsed.level) if parsed.level else None
            result.log_subscribers.append(LogSubscriber(node.id, full_id, level, parsed.node))
        configs[full_id] = _input_config(canonical, spec)
    return configs


def _producer_output(
    consumer: str, source: UserSource, by_id: Mapping[str, Node], where: str
) -> str:
    """The output id the producer really sends on (``op/out`` for runtime nodes)."""
    producer = by_id.get(source.node)
    if producer is None:
        raise DescriptorError(
            f"node `{consumer}`: source node `{source.node}` does not exist", where
        )
    offered = set(_declared_outputs(producer)) | _log_outputs(producer)
    candidates = [source.output]
    if producer.operator is not None:
        # a single operator's `X/out` stands for `X/<op>/out` (both spellings work)
        candidates.append(f"{producer.operator.id or DEFAULT_OPERATOR_ID}/{source.output}")
    for candidate in candidates:
        if candidate in offered:
            return candidate
    raise DescriptorError(
        f"node `{consumer}`: node `{source.node}` has no output `{source.output}` "
        f"(declared: {', '.join(sorted(offered)) or 'none'})",
        where,
    )


def _log_outputs(node: Node) -> set[str]:
    """Outputs the daemon fills from a node's stdout/logs (``op/x`` for runtime nodes)."""
    return {name for name in _log_outputs_of(node) if name}


def _log_outputs_of(node: Node) -> tuple[str | None, str | None]:
    """The full ``send_stdout_as`` and ``send_logs_as`` output ids of a node; in a runtime
    node, at most one operator sets each (validate checks it)."""
    blocks = _operator_blocks(node)
    if not blocks:
        return node.send_stdout_as, node.send_logs_as
    stdout_as = next((f"{i}/{op.send_stdout_as}" for i, op, _ in blocks if op.send_stdout_as), None)
    logs_as = next((f"{i}/{op.send_logs_as}" for i, op, _ in blocks if op.send_logs_as), None)
    return stdout_as, logs_as


def _input_config(source: str, spec: Input) -> InputConfig:
    if isinstance(spec, str):
        return InputConfig(source=source)
    given = {"queue_size": spec.queue_size, "queue_policy": spec.queue_policy}
    return InputConfig(
        source=source,
        input_timeout=spec.input_timeout,
        **{key: value for key, value in given.items() if value is not None},
    )


def _routes_of(
    producer: str,
    outputs_by_producer: Mapping[str, list[tuple[str, dict[str, list[str]]]]],
    result: ResolvedDataflow,
    here: set[str],
    bridge_address: str | None,
) -> dict[str, list[Receiver]]:
    routes: dict[str, list[Receiver]] = {}
    for output, receivers in outputs_by_producer.get(producer, ()):
        route = [
            Receiver(node_id=r, address=node_address(result.dataflow_id, r))
            for r in receivers
            if r in here
        ]
        if any(r not in here for r in receivers):
            if bridge_address is None:
                raise ValueError(f"output {producer}/{output} is read on another daemon")
            route.append(Receiver(node_id=BRIDGE_NODE_ID, address=bridge_address))
        routes[output] = route
    return routes


def _node_log_settings(node: Node, index: int) -> LogSettings:
    try:
        return log_settings(node)
    except ValueError as error:
        raise DescriptorError(f"node `{node.id}`: {error}", f"nodes[{index}]") from None


def _zero_copy_threshold(host_env: Mapping[str, str]) -> int:
    """Payload size from which data goes through shared memory (``DORA_ZERO_COPY_THRESHOLD``)."""
    raw = host_env.get(ENV_ZERO_COPY_THRESHOLD)
    if not raw:
        return DEFAULT_ZERO_COPY_THRESHOLD
    try:
        value = parse_size(raw)
    except ValueError as error:
        raise DescriptorError(f"DORA_ZERO_COPY_THRESHOLD: {error}") from None
    return max(value, 1)
