"""The dataflow descriptor (``dataflow.yml``) as msgspec Structs.

Every key of the seed's complete schema and the mainline spellings are declared here.
Unknown keys are rejected (``forbid_unknown_fields``) except inside operator blocks,
which mainline also leaves open. Semantic checks live in :mod:`dora_message.validate`;
loading from YAML with located errors lives in :mod:`dora_message.load`.
Not frozen: module expansion (``modules/expand.py``, ``rewrite.py``) edits copies of nodes
in place.
"""

from __future__ import annotations

from typing import Literal

import msgspec

QueuePolicy = Literal["drop_oldest", "backpressure"]
RestartPolicy = Literal["never", "on-failure", "always"]
LogLevelName = str  # validated case-insensitively in validate.py
Pattern = Literal["service-server", "service-client", "action-server", "action-client"]
NodeKind = Literal["standard", "operator", "operators", "ros2", "module"]

#: The keys that choose what a node is; exactly one must be set.
NODE_SELECTORS: tuple[str, ...] = ("path", "operator", "operators", "ros2", "module")
_KIND_OF_SELECTOR: dict[str, NodeKind] = {
    "path": "standard",
    "operator": "operator",
    "operators": "operators",
    "ros2": "ros2",
    "module": "module",
}


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base for descriptor structs that reject unknown keys."""


class HostEnv(_Strict):
    """``{__dora_env: HOST_VAR}``: take the value from the host environment."""

    dora_env: str = msgspec.field(name="__dora_env")


EnvValue = str | int | float | bool | HostEnv


class InputSpec(_Strict):
    """Long form of an input."""

    source: str
    queue_size: int | None = None
    queue_policy: QueuePolicy | None = None
    input_timeout: float | None = None


Input = str | InputSpec


class Deploy(_Strict):
    """Where a node runs (``_unstable_deploy`` / ``deploy``)."""

    machine: str | None = None
    labels: dict[str, str] | None = None
    distribute: Literal["local", "scp", "http"] | None = None
    working_dir: str | None = None


class Debug(_Strict):
    """Debug settings (``_unstable_debug`` / ``debug``)."""

    publish_all_messages_to_zenoh: bool = False
    enable_debug_inspection: bool = False


class TypeRule(_Strict):
    """An extra implicit type-compatibility edge."""

    from_: str = msgspec.field(name="from")
    to: str


class PythonSource(_Strict):
    """Long form of ``operator.python``."""

    source: str
    conda_env: str | None = None


class Operator(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One in-process operator. Unknown keys are ignored, as in mainline."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    python: str | PythonSource | None = None
    shared_library: str | None = msgspec.field(default=None, name="shared-library")
    wasm: str | None = None
    build: str | None = None
    inputs: dict[str, Input] = msgspec.field(default_factory=dict)
    outputs: list[str] = msgspec.field(default_factory=list)
    output_types: dict[str, str] | None = None
    input_types: dict[str, str] | None = None
    output_metadata: dict[str, list[str]] | None = None
    output_framing: dict[str, str] | None = None
    pattern: Pattern | None = None
    send_stdout_as: str | None = None
    send_logs_as: str | None = None
    min_log_level: LogLevelName | None = None
    max_log_size: str | int | None = None
    max_rotated_files: int | None = None


class Node(_Strict):
    """One node of the dataflow (process, operator runtime, ros2 bridge or module)."""

    id: str
    name: str | None = None
    description: str | None = None

    # source: pick one selector
    path: str | None = None
    operator: Operator | None = None
    operators: list[Operator] | None = None
    ros2: dict[str, object] | None = None
    module: str | None = None
    params: dict[str, EnvValue] | None = None

    git: str | None = None
    branch: str | None = None
    tag: str | None = None
    rev: str | None = None
    hub: str | None = None
    path_sha256: str | None = None

    build: str | None = None
    args: str | list[str] | None = None
    env: dict[str, EnvValue] | None = None

    inputs: dict[str, Input] = msgspec.field(default_factory=dict)
    outputs: list[str] = msgspec.field(default_factory=list)
    output_types: dict[str, str] | None = None
    input_types: dict[str, str] | None = None
    output_metadata: dict[str, list[str]] | None = None
    output_framing: dict[str, str] | None = None
    pattern: Pattern | None = None
    shared_memory_pool_size: int | str | None = None

    restart_policy: RestartPolicy | None = None
    max_restarts: int | None = None
    restart_delay: float | None = None
    max_restart_delay: float | None = None
    restart_window: float | None = None
    health_check_timeout: float | None = None
    finish_grace_secs: float | None = None

    min_log_level: LogLevelName | None = None
    send_stdout_as: str | None = None
    send_logs_as: str | None = None
    max_log_size: str | int | None = None
    max_rotated_files: int | None = None

    cpu_affinity: list[int] | None = None
    unstable_deploy: Deploy | None = msgspec.field(default=None, name="_unstable_deploy")
    deploy: Deploy | None = None

    @property
    def kind(self) -> NodeKind | None:
        """What the node is, from its selector; ``None`` unless exactly one is set."""
        chosen = [key for key in NODE_SELECTORS if getattr(self, key) is not None]
        return _KIND_OF_SELECTOR[chosen[0]] if len(chosen) == 1 else None

    @property
    def placement(self) -> Deploy | None:
        """The deploy section, whichever spelling was used."""
        return self.unstable_deploy or self.deploy


class Descriptor(_Strict):
    """A whole dataflow."""

    nodes: list[Node]
    env: dict[str, EnvValue] | None = None
    health_check_interval: float | None = None
    exit_when_nodes_finish: bool | None = None
    strict_types: bool | None = None
    type_rules: list[TypeRule] | None = None
    deploy: Deploy | None = None
    unstable_debug: Debug | None = msgspec.field(default=None, name="_unstable_debug")
    debug: Debug | None = None
    name: str | None = None
    description: str | None = None

    @property
    def debug_settings(self) -> Debug:
        """The debug section, whichever spelling was used."""
        return self.unstable_debug or self.debug or Debug()


def with_debug_inspection(descriptor: Descriptor) -> Descriptor:
    """The descriptor with every message published for ``dora topic`` (``--debug``),
    in whichever debug section it already has."""
    replace = msgspec.structs.replace
    if descriptor.unstable_debug is not None:
        debug = replace(descriptor.unstable_debug, enable_debug_inspection=True)
        return replace(descriptor, unstable_debug=debug)
    debug = replace(descriptor.debug or Debug(), enable_debug_inspection=True)
    return replace(descriptor, debug=debug)
