"""Which files ``dora start --hot-reload`` watches, and when a file counts as changed.

Sans-I/O: :func:`watched_operators` reads a descriptor, :class:`ChangeDetector` is fed
file fingerprints (or None for a missing file) by whoever polls the file system
(:mod:`dora_cli.hot_reload`) and says which operators to reload.

A change fires once the new fingerprint was seen on two consecutive polls, so a file
caught half-written (editors that truncate then write) is not reloaded before it settles.
A file that is missing for a while (editors that save by writing a temporary file and
renaming it over the original) is simply waited for: its reappearance with a new
fingerprint (a new inode at least) is the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dora_message.descriptor import Descriptor, Operator
from dora_message.topics import DEFAULT_OPERATOR_ID


@dataclass(frozen=True, slots=True)
class WatchedOperator:
    """One Python operator and the source file its runtime imports."""

    node: str
    operator: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.node}/{self.operator}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What polling ``stat`` tells about a file: any difference is a change."""

    mtime_ns: int
    size: int
    inode: int


def _python_file(operator: Operator) -> str | None:
    source = operator.python
    if source is None:
        return None
    return source if isinstance(source, str) else source.source


def watched_operators(descriptor: Descriptor, working_dir: Path) -> list[WatchedOperator]:
    """The Python operators of ``descriptor``, with their files resolved as the daemon does
    (relative to the dataflow's working directory). Nodes fetched from ``git:`` are left
    out: their files live in the daemon's checkout, not here."""
    watched = []
    for node in descriptor.nodes:
        if node.git is not None:
            continue
        operators: list[tuple[Operator, str]] = []
        if node.operator is not None:
            operators.append((node.operator, node.operator.id or DEFAULT_OPERATOR_ID))
        for operator in node.operators or []:
            if operator.id is not None:
                operators.append((operator, operator.id))
        for operator, operator_id in operators:
            file = _python_file(operator)
            if file is not None:
                path = (working_dir / Path(file).expanduser()).resolve()
                watched.append(WatchedOperator(node.id, operator_id, path))
    return watched


@dataclass(slots=True)
class _FileState:
    current: Fingerprint | None  # what the operator runs (last reloaded or initial)
    pending: Fingerprint | None = None  # a new fingerprint waiting to settle


@dataclass(slots=True)
class ChangeDetector:
    """Turns successive polls of the watched files into reload decisions."""

    operators: list[WatchedOperator]
    _files: dict[Path, _FileState] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        """The distinct files to poll."""
        return list(dict.fromkeys(watched.path for watched in self.operators))

    def start(self, fingerprints: Mapping[Path, Fingerprint | None]) -> None:
        """The state of the files when the dataflow started: the baseline."""
        self._files = {path: _FileState(fingerprints.get(path)) for path in self.paths()}

    def poll(self, fingerprints: Mapping[Path, Fingerprint | None]) -> list[WatchedOperator]:
        """One poll's fingerprints; returns the operators whose file changed and settled."""
        changed: set[Path] = set()
        for path in self.paths():
            state = self._files.setdefault(path, _FileState(None))
            seen = fingerprints.get(path)
            if seen is None or seen == state.current:
                state.pending = None  # missing (mid-rename) or back to what runs
                continue
            if seen == state.pending:
                state.current, state.pending = seen, None
                changed.add(path)
            else:
                state.pending = seen
        return _in_order(self.operators, changed)


def _in_order(operators: Iterable[WatchedOperator], paths: set[Path]) -> list[WatchedOperator]:
    return [watched for watched in operators if watched.path in paths]
