"""Shared helpers for daemon tests: descriptors from dicts, a log collector with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from dora_message.common import LogMessage
from dora_message.descriptor import Descriptor

FAKE_NODE = Path(__file__).with_name("fake_node.py")


def descriptor(nodes: list[dict[str, Any]], **root: Any) -> Descriptor:
    """A descriptor from plain dicts (no YAML loader needed)."""
    return msgspec.convert({"nodes": nodes, **root}, Descriptor)


def fake(node_id: str, args: str | list[str] = "", **keys: Any) -> dict[str, Any]:
    """A node running fake_node.py with ``args``."""
    return {"id": node_id, "path": "fake_node.py", "args": args, **keys}


def flow_dir(tmp_path: Path) -> Path:
    """A dataflow directory holding a copy of fake_node.py."""
    shutil.copy(FAKE_NODE, tmp_path / "fake_node.py")
    return tmp_path


class Collector:
    """Receives every LogMessage of a run; lets a test await a matching one."""

    def __init__(self) -> None:
        self.records: list[LogMessage] = []
        self._changed = asyncio.Event()

    def __call__(self, record: LogMessage) -> None:
        self.records.append(record)
        self._changed.set()

    def lines(self, node_id: str, prefix: str = "") -> list[str]:
        """Messages of ``node_id`` starting with ``prefix``."""
        return [
            r.message for r in self.records if r.node_id == node_id and r.message.startswith(prefix)
        ]

    def events(self, node_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The EVENT lines of a fake node, decoded."""
        found = [json.loads(line[6:]) for line in self.lines(node_id, "EVENT ")]
        return [e for e in found if kind is None or e["type"] == kind]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Wait until ``predicate()`` is truthy; fail with the output so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                shown = "\n".join(f"{r.node_id}: {r.message}" for r in self.records[-40:])
                raise AssertionError(f"timed out waiting; last output:\n{shown}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return value


PYTHON = sys.executable
