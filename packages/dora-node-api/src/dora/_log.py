"""Structured logging of a node: one JSON object per line on stdout.

The daemon reads a node's stdout line by line; a JSON object with ``level`` and
``timestamp`` (and string-valued ``fields``) is a structured record, anything else is a
plain ``stdout`` line. ``node.log`` and the stdlib ``logging`` bridge (installed by
``Node()``) both write such lines. ``node.log*`` emits down to ``debug`` and the
bridge down to ``info``, or further down when the daemon asks (``DORA_NODE_LOG_LEVEL``:
``dora run --log-level debug``, ``--log-filter``, ``min_log_level``);
``DORA_LOG_LEVEL`` (or a plain level in ``RUST_LOG``) set by the user wins.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import threading
from typing import Any

import msgspec

from dora_message.constants import ENV_LOG_LEVEL, ENV_NODE_LOG_LEVEL

_encoder = msgspec.json.Encoder()
_MAX_FIELDS_BYTES = 60 * 1024
_LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3, "trace": 4}
_ALIASES = {"warning": "warn", "critical": "error", "fatal": "error"}
_write_lock = threading.Lock()
# dora-rs does); stdlib logging (libraries included) stays at info unless asked
METHOD_DEFAULT = "debug"


def normalize_level(level: Any) -> str:
    """A level name in error/warn/info/debug/trace; unknown names become info."""
    name = str(level).strip().lower()
    name = _ALIASES.get(name, name)
    return name if name in _LEVELS else "info"


def _explicit_level() -> str | None:
    """A level the user set: DORA_LOG_LEVEL, else a bare level in RUST_LOG."""
    for var in (ENV_LOG_LEVEL, "RUST_LOG"):
        value = os.environ.get(var, "").strip().lower()
        value = _ALIASES.get(value, value)
        if value in _LEVELS or value == "off":
            return value
    return None


def threshold_from_env(default: str = "info") -> str:
    """Minimum level to emit: a level the user set, else the more verbose of
    ``default`` and what the daemon asks for (``DORA_NODE_LOG_LEVEL``: someone shows or
    keeps this node's debug records, see ``dora_daemon.node_log_level``)."""
    explicit = _explicit_level()
    if explicit is not None:
        return explicit
    wanted = os.environ.get(ENV_NODE_LOG_LEVEL, "").strip().lower()
    wanted = _ALIASES.get(wanted, wanted)
    if wanted in _LEVELS and _LEVELS[wanted] > _LEVELS[default]:
        return wanted
    return default


def enabled(level: str, threshold: str) -> bool:
    """Whether ``level`` passes ``threshold``."""
    if threshold == "off":
        return False
    return _LEVELS[level] <= _LEVELS[threshold]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def format_line(
    level: str,
    message: str,
    node_id: str | None,
    target: str | None = None,
    fields: dict[str, Any] | None = None,
) -> bytes:
    """One JSON log line (without newline)."""
    record: dict[str, Any] = {
        "timestamp": _now(),
        "level": level,
        "node_id": node_id,
        "message": message,
    }
    if target is not None:
        record["target"] = target
    if fields:
        strings = {str(k): v if isinstance(v, str) else str(v) for k, v in fields.items()}
        encoded = _encoder.encode(strings)
        if len(encoded) > _MAX_FIELDS_BYTES:
            record["fields_dropped"] = True
        else:
            record["fields"] = strings
    return _encoder.encode(record)


def write_line(line: bytes) -> None:
    """Write one line to stdout atomically with respect to other log calls."""
    stream = sys.stdout
    if stream is None:  # pragma: no cover - pythonw / closed stdout
        return
    text = line.decode() + "\n"
    with _write_lock:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # closed pipe at shutdown
            pass


class BridgeHandler(logging.Handler):
    """Re-emits stdlib ``logging`` records as dora JSON lines."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def emit(self, record: logging.LogRecord) -> None:
        """Format and print ``record``."""
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            fields = {
                "file": record.pathname,
                "line": str(record.lineno),  # string: the daemon expects string fields
                "module": record.module,
            }
            level = normalize_level(record.levelname)
            write_line(format_line(level, message, self.node_id, record.name, fields))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class LogMethods:
    """``log`` and its shorthands; mixed into ``Node`` (which sets the two attributes)."""

    _log_node_id: str | None = None
    _log_threshold: str = "info"

    def log(
        self,
        level: str,
        message: str,
        target: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Print one structured log line (JSON) on stdout."""
        name = normalize_level(level)
        if enabled(name, self._log_threshold):
            write_line(format_line(name, str(message), self._log_node_id, target, fields))

    def log_error(self, message: str) -> None:
        """``log("error", message)``."""
        self.log("error", message)

    def log_warn(self, message: str) -> None:
        """``log("warn", message)``."""
        self.log("warn", message)

    def log_info(self, message: str) -> None:
        """``log("info", message)``."""
        self.log("info", message)

    def log_debug(self, message: str) -> None:
        """``log("debug", message)``."""
        self.log("debug", message)

    def log_trace(self, message: str) -> None:
        """``log("trace", message)``."""
        self.log("trace", message)


_PY_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
    "off": logging.CRITICAL + 10,
}
_installed: BridgeHandler | None = None
_original_basic_config = logging.basicConfig


def install_bridge(node_id: str) -> None:
    """Route the root logger through dora (once per process).

    Like mainline, a program that configured ``logging`` before creating its node keeps
    its own handlers and level: the bridge is not installed then.
    """
    global _installed
    if _installed is not None:
        _installed.node_id = node_id
        return
    root = logging.getLogger()
    if root.handlers:
        return
    handler = BridgeHandler(node_id)
    root.addHandler(handler)
    root.setLevel(_PY_LEVELS[threshold_from_env()])
    _installed = handler

    def basic_config(**kwargs: Any) -> None:
        # user code calling basicConfig after Node(): keep the bridge, honour `level`
        _original_basic_config(**kwargs)
        if handler not in root.handlers:
            root.addHandler(handler)
        if "level" in kwargs:
            root.setLevel(kwargs["level"])

    logging.basicConfig = basic_config  # type: ignore[assignment]
