"""What ``dora topic echo|hz|info`` compute and print from received messages (sans-I/O).

Messages come from :mod:`dora_cli.topic_watch`; everything here is pure: formatting a
message for ``echo``, the sliding-window rate statistics of ``hz``, the summary of
``info``.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import math
import statistics
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def to_json(value: Any) -> str:
    """Compact JSON; datetimes as ISO strings, bytes as base64, anything else as text."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), allow_nan=False)


def array_json(array: pa.Array | None) -> str | None:
    """An array's values as a JSON list (None for no value)."""
    if array is None:
        return None
    try:
        return to_json(array.to_pylist())
    except ValueError:  # NaN or infinity in a float array: JSON has no spelling for them
        return to_json([_finite(v) for v in array.to_pylist()])


def _finite(value: Any) -> Any:
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def echo_line(
    topic: str,
    array: pa.Array | None,
    parameters: dict[str, Any],
    received_ms: int,
    fmt: str,
) -> str:
    """One ``topic echo`` line: ``table`` (``topic  data=… metadata=…``) or ``json``."""
    data = array_json(array)
    if fmt == "json":
        record = {
            "timestamp": received_ms,
            "name": topic,
            "data": None if data is None else json.loads(data),
            "metadata": json.loads(to_json(parameters)) if parameters else None,
        }
        return to_json(record)
    parts = [topic]
    if data is not None:
        parts.append(f"data={data}")
    if parameters:
        parts.append(f"metadata={to_json(parameters)}")
    return "\t".join([parts[0], " ".join(parts[1:])]) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Rate:
    """Intervals between messages over a window: milliseconds, and Hz from their mean."""

    samples: int
    avg_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    std_ms: float | None = None

    @property
    def hz(self) -> float | None:
        """Messages per second (from the mean interval)."""
        return None if not self.avg_ms else 1000.0 / self.avg_ms

    def cells(self) -> list[str]:
        """``avg_ms avg_hz min_ms max_ms std_ms`` with 2 decimals, ``-`` when unknown."""
        values = (self.avg_ms, self.hz, self.min_ms, self.max_ms, self.std_ms)
        return ["-" if v is None else f"{v:.2f}" for v in values]


def intervals_ms(instants: Iterable[float]) -> list[float]:
    """The non-zero intervals between consecutive ``instants`` (seconds), in ms."""
    return [(b - a) * 1000.0 for a, b in itertools.pairwise(instants) if b > a]


def rate_of(instants: Iterable[float]) -> Rate:
    """The rate of messages received at ``instants`` (seconds, ascending).

    Zero intervals (messages read in one go) are left out; fewer than two instants, or
    no non-zero interval, give only the sample count.
    """
    times = list(instants)
    intervals = intervals_ms(times)
    if not intervals:
        return Rate(samples=len(times))
    return Rate(
        samples=len(times),
        avg_ms=statistics.fmean(intervals),
        min_ms=min(intervals),
        max_ms=max(intervals),
        std_ms=statistics.pstdev(intervals),
    )


@dataclass
class RateWindow:
    """Receive instants per topic within a sliding window, and the rates they give."""

    window_s: float
    topics: Sequence[str]
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._seen = {topic: deque() for topic in self.topics}

    def add(self, topic: str, instant: float) -> None:
        """A message of ``topic`` arrived at ``instant`` (seconds, monotonic)."""
        seen = self._seen.get(topic)
        if seen is None:
            return
        seen.append(instant)
        self._all.append(instant)

    def _trim(self, now: float) -> None:
        start = now - self.window_s
        for seen in (*self._seen.values(), self._all):
            while seen and seen[0] < start:
                seen.popleft()

    def rows(self, now: float) -> list[tuple[str, Rate]]:
        """``ALL`` (every topic together) first, then one row per topic."""
        self._trim(now)
        rows = [("ALL", rate_of(sorted(self._all)))]
        rows += [(topic, rate_of(self._seen[topic])) for topic in self.topics]
        return rows

    def instants(self, name: str, now: float) -> list[float]:
        """The instants within the window of row ``name`` (``ALL`` or a topic), ascending."""
        self._trim(now)
        start = now - self.window_s
        seen = self._all if name == "ALL" else self._seen.get(name, ())
        return sorted(t for t in seen if t >= start)  # topics interleave out of order


HZ_COLUMNS = ("topic", "avg_ms", "avg_hz", "min_ms", "max_ms", "std_ms", "samples")


def hz_table(rows: Sequence[tuple[str, Rate]]) -> str:
    """``topic hz --duration``'s tab-separated table."""
    lines = ["\t".join(HZ_COLUMNS)]
    for topic, rate in rows:
        lines.append("\t".join([topic, *rate.cells(), str(rate.samples)]))
    return "\n".join(lines)


@dataclass
class TopicSummary:
    """What ``topic info`` collects about one topic."""

    topic: str
    subscribers: list[str]
    messages: int = 0
    bytes: int = 0
    arrow_type: str | None = None
    instants: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def add(self, array: pa.Array | None, size: int, instant: float) -> None:
        """One message of ``size`` payload bytes arrived at ``instant``."""
        self.messages += 1
        self.bytes += size
        if array is not None:
            self.arrow_type = str(array.type)
        self.instants.append(instant)

    def report(self, elapsed_s: float) -> str:
        """The text ``topic info`` prints."""
        node = self.topic.split("/", 1)[0]
        rate = rate_of(self.instants)
        frequency = f"({rate.hz:.1f} Hz)" if rate.hz is not None else "(frequency unknown)"
        subscribers = [f"  * {s}" for s in self.subscribers] or ["  <none>"]
        bandwidth = (
            f"{self.bytes * 8 / elapsed_s / 1e6:.2f} Mbps"
            if self.messages and elapsed_s > 0
            else "<unknown>"
        )
        kind = self.arrow_type or "<unknown> (no messages received)"
        return "\n".join(
            [
                f"Topic: {self.topic}",
                "",
                f"Type: {kind}",
                "",
                "Publisher:",
                f"  * {node} {frequency}",
                "",
                "Subscribers:",
                *subscribers,
                "",
                "Statistics:",
                f"  Total messages: {self.messages}",
                f"  Bandwidth: {bandwidth}",
            ]
        )
