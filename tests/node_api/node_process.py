"""A node script of ``nodes/`` run as its own process, its stdout read line by line."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from dora_message.config import NodeConfig, encode_node_config

NODES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nodes")


class NodeProcess:
    """A spawned node script; stdout lines are collected by a thread."""

    def __init__(self, script: str, config: NodeConfig | None, env: dict[str, str]) -> None:
        full_env = dict(os.environ)
        full_env.update(env)
        if config is not None:
            full_env["DORA_NODE_CONFIG"] = encode_node_config(config)
        full_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-u", os.path.join(NODES_DIR, script)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # own process group, like the real daemon does
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True).start()

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            if is_stdout:
                self.stdout.append(line)
                self.lines.put(line)
            else:
                self.stderr.append(line)
        if is_stdout:
            self.lines.put(None)

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        """The first (next) stdout line starting with ``prefix``, without it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line starting with {prefix!r}; stderr: {self.err()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"process ended without {prefix!r}; stdout: {''.join(self.stdout)[-2000:]}"
                    f"\nstderr: {self.err()}"
                )
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the exit code."""
        return self.proc.wait(timeout=timeout)

    def err(self) -> str:
        """Captured stderr so far."""
        return "".join(self.stderr)[-4000:]

    def kill(self) -> None:
        """Kill the process group (idempotent)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
