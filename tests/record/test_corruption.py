"""Every damaged recording is a clear error or counted skips, never a traceback (issue 13
item 12): the reader over thousands of damaged copies."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from tests.record.corruptions import MESSAGES, read_back, variants, write_good


@pytest.mark.timeout(600)
def test_every_damaged_copy_reads_as_an_error_or_counted_skips(tmp_path: Path) -> None:
    good = write_good(tmp_path / "good.adorec")
    assert read_back(tmp_path / "good.adorec").readable == MESSAGES
    kinds: collections.Counter[str] = collections.Counter()
    path = tmp_path / "bad.adorec"
    for name, data in variants(good).items():
        path.write_bytes(data)
        outcome = read_back(path)  # raises (failing the test) on anything but RecordingError
        kinds[f"{name.split('-')[0]}:{outcome.kind}"] += 1
        if outcome.kind == "error":
            assert str(path) in outcome.error, (name, outcome)  # the message names the file
        assert outcome.readable <= MESSAGES, name
    # every family was exercised, and the damage was noticed in each way it can be
    assert {k.split(":")[1] for k in kinds} >= {"error", "truncated", "unreadable", "undecodable"}
    assert {k.split(":")[0] for k in kinds} == {"truncated", "flipped", "wrong", "huge"}
    assert kinds["wrong:error"] == 5


@pytest.mark.timeout(60)
def test_a_damaged_message_in_the_middle_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    good = write_good(tmp_path / "good.adorec")
    path = tmp_path / "bad.adorec"
    for data in variants(good).values():
        path.write_bytes(data)
        outcome = read_back(path)
        if outcome.kind == "unreadable" and outcome.readable == MESSAGES - 1:
            return  # one message lost, the ones after it still read
    pytest.fail("no damaged copy lost exactly one message")
