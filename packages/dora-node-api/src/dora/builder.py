"""Build a dataflow descriptor in Python and write it as YAML.

Example::

    from dora.builder import DataflowBuilder

    flow = DataflowBuilder("demo")
    camera = flow.add_node("camera").path("camera.py")
    frames = camera.add_output("image")
    flow.add_node("plot").path("plot.py").add_input("image", frames, queue_size=1)
    flow.to_yaml("dataflow.yml")
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import yaml

__all__ = ["QUEUE_POLICIES", "DataflowBuilder", "Node", "Operator", "Output"]

QUEUE_POLICIES = frozenset({"drop_oldest", "backpressure"})


class DataflowBuilder:
    """A dataflow under construction."""

    def __init__(self, name: str = "dora-dataflow") -> None:
        self.name = name
        self.nodes: list[Node] = []

    def add_node(self, id: str, **kwargs: Any) -> Node:
        """Add a node; keyword arguments become descriptor keys."""
        node = Node(id, **kwargs)
        self.nodes.append(node)
        return node

    def to_dict(self) -> dict[str, Any]:
        """The descriptor as plain data."""
        return {"nodes": [node.to_dict() for node in self.nodes]}

    def to_yaml(self, path: str | None = None) -> str | None:
        """The descriptor as YAML; written to ``path`` (returning None) when given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        return None

    def __enter__(self) -> DataflowBuilder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Output:
    """An output of a node; ``str(output)`` is ``"node/output"``."""

    def __init__(self, node: Node, output_id: str) -> None:
        self.node = node
        self.output_id = output_id

    def __str__(self) -> str:
        return f"{self.node.id}/{self.output_id}"

    def __repr__(self) -> str:
        return f"Output({self})"


class Node:
    """A node of the dataflow; setters return the node for chaining."""

    def __init__(self, id: str, **kwargs: Any) -> None:
        self.id = id
        self.config: dict[str, Any] = {"id": id, **kwargs}
        self.operators: list[Operator] = []

    def path(self, path: str) -> Node:
        """The executable or script."""
        self.config["path"] = path
        return self

    def args(self, args: str) -> Node:
        """Command-line arguments."""
        self.config["args"] = args
        return self

    def env(self, env: dict[str, Any]) -> Node:
        """Environment variables."""
        self.config["env"] = dict(env)
        return self

    def build(self, build_command: str) -> Node:
        """The build command."""
        self.config["build"] = build_command
        return self

    def git(
        self, url: str, branch: str | None = None, tag: str | None = None, rev: str | None = None
    ) -> Node:
        """Fetch the node from a git repository."""
        self.config["git"] = url
        for key, value in (("branch", branch), ("tag", tag), ("rev", rev)):
            if value:
                self.config[key] = value
        return self

    def add_operator(self, operator: Operator) -> Node:
        """Add an operator to this (runtime) node."""
        self.operators.append(operator)
        return self

    def add_output(self, output_id: str) -> Output:
        """Declare an output; returns a handle usable as an input source."""
        outputs = self.config.setdefault("outputs", [])
        if output_id not in outputs:
            outputs.append(output_id)
        return Output(self, output_id)

    def add_input(
        self,
        input_id: str,
        source: str | Output,
        queue_size: int | None = None,
        queue_policy: str | None = None,
    ) -> Node:
        """Subscribe ``input_id`` to ``source`` (``"node/output"`` or an Output).

        ``queue_size`` (at least 1) bounds the input's queue; ``queue_policy`` is
        ``"drop_oldest"`` (the default) or ``"backpressure"``. Other values raise
        ``ValueError`` here rather than when the dataflow is started.
        """
        if queue_policy is not None and queue_policy not in QUEUE_POLICIES:
            raise ValueError(
                f"queue_policy must be one of {sorted(QUEUE_POLICIES)}, got {queue_policy!r}"
            )
        if queue_size is not None:
            if isinstance(queue_size, bool) or not isinstance(queue_size, int):
                raise TypeError(f"queue_size must be an int, got {queue_size!r}")
            if queue_size < 1:
                raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        inputs = self.config.setdefault("inputs", {})
        source_str = str(source)
        if queue_size is None and queue_policy is None:
            inputs[input_id] = source_str
        else:
            spec: dict[str, Any] = {"source": source_str}
            if queue_size is not None:
                spec["queue_size"] = queue_size
            if queue_policy is not None:
                spec["queue_policy"] = queue_policy
            inputs[input_id] = spec
        return self

    def to_dict(self) -> dict[str, Any]:
        """The node as plain data."""
        config = dict(self.config)
        if self.operators:
            config["operators"] = [op.to_dict() for op in self.operators]
        return config


class Operator:
    """An operator of a runtime node."""

    def __init__(
        self,
        id: str,
        name: str | None = None,
        description: str | None = None,
        build: str | None = None,
        python: str | None = None,
        shared_library: str | None = None,
        send_stdout_as: str | None = None,
    ) -> None:
        self.id = id
        self.config: dict[str, Any] = {"id": id}
        for key, value in (
            ("name", name),
            ("description", description),
            ("build", build),
            ("python", python),
            ("shared-library", shared_library),
            ("send_stdout_as", send_stdout_as),
        ):
            if value:
                self.config[key] = value

    def to_dict(self) -> dict[str, Any]:
        """The operator as plain data."""
        return dict(self.config)
