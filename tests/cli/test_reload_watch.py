"""The sans-I/O side of `dora start --hot-reload`: which files, and when they changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dora_cli.reload_watch import ChangeDetector, Fingerprint, WatchedOperator, watched_operators
from dora_message.load import parse_descriptor

pytestmark = pytest.mark.timeout(30)

A = Path("/flow/a.py")
B = Path("/flow/b.py")
OPS = [WatchedOperator("n1", "op", A), WatchedOperator("n2", "x", B)]


def fp(mtime: int, size: int = 10, inode: int = 1) -> Fingerprint:
    return Fingerprint(mtime_ns=mtime, size=size, inode=inode)


def started(**files: Fingerprint | None) -> ChangeDetector:
    detector = ChangeDetector(OPS)
    detector.start({A: files.get("a", fp(1)), B: files.get("b", fp(1))})
    return detector


def test_unchanged_files_reload_nothing() -> None:
    detector = started()
    for _ in range(3):
        assert detector.poll({A: fp(1), B: fp(1)}) == []


def test_a_change_fires_once_it_settled() -> None:
    detector = started()
    assert detector.poll({A: fp(2), B: fp(1)}) == []  # seen once: maybe half-written
    assert detector.poll({A: fp(2), B: fp(1)}) == [OPS[0]]
    assert detector.poll({A: fp(2), B: fp(1)}) == []  # fired once only


def test_a_file_still_being_written_waits() -> None:
    detector = started()
    assert detector.poll({A: fp(2, size=3), B: fp(1)}) == []
    assert detector.poll({A: fp(3, size=12), B: fp(1)}) == []
    assert detector.poll({A: fp(3, size=12), B: fp(1)}) == [OPS[0]]


def test_rename_save_with_a_gap_is_detected() -> None:
    detector = started()
    assert detector.poll({A: None, B: fp(1)}) == []  # unlinked, not yet renamed over
    assert detector.poll({A: fp(1, inode=2), B: fp(1)}) == []
    assert detector.poll({A: fp(1, inode=2), B: fp(1)}) == [OPS[0]]


def test_a_missing_file_alone_is_no_change() -> None:
    detector = started()
    assert detector.poll({A: None, B: fp(1)}) == []
    assert detector.poll({A: fp(1), B: fp(1)}) == []  # back as it was


def test_edit_reverted_before_settling_is_no_change() -> None:
    detector = started()
    assert detector.poll({A: fp(2), B: fp(1)}) == []
    assert detector.poll({A: fp(1), B: fp(1)}) == []
    assert detector.poll({A: fp(1), B: fp(1)}) == []


def test_both_files_change_together() -> None:
    detector = started()
    detector.poll({A: fp(2), B: fp(2)})
    assert detector.poll({A: fp(2), B: fp(2)}) == OPS


def test_operators_sharing_a_file_reload_together() -> None:
    ops = [WatchedOperator("n1", "op", A), WatchedOperator("n2", "op", A)]
    detector = ChangeDetector(ops)
    detector.start({A: fp(1)})
    assert detector.paths() == [A]
    detector.poll({A: fp(2)})
    assert detector.poll({A: fp(2)}) == ops


def test_watched_operators_resolve_like_the_daemon(tmp_path: Path) -> None:
    descriptor = parse_descriptor(
        """
nodes:
  - id: single
    operator:
      python: ops/single.py
  - id: named
    operator:
      id: mine
      python:
        source: long.py
  - id: listed
    operators:
      - id: first
        python: /abs/first.py
  - id: plain
    path: plain.py
"""
    )
    watched = watched_operators(descriptor, tmp_path)
    assert [(w.node, w.operator, w.path) for w in watched] == [
        ("single", "op", (tmp_path / "ops/single.py").resolve()),
        ("named", "mine", (tmp_path / "long.py").resolve()),
        ("listed", "first", Path("/abs/first.py")),
    ]
    assert watched[0].label == "single/op"
