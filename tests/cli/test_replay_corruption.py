"""``dora replay`` of damaged recordings, real CLI, daemon and replay nodes (issue 13 item
12): one damaged copy of each family (cut off, flipped byte, wrong magic, huge length)
for each way the reader can notice the damage; each ends in one clear error or in counted
skips, never in a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.procs import run_dora
from tests.record.corruptions import Outcome, read_back, variants, write_good

pytestmark = pytest.mark.integration

_REPLAYED = re.compile(r"replayed (\d+) messages \((\d+) skipped\)")


def representatives(folder: Path) -> list[tuple[str, bytes, Outcome]]:
    """The first damaged copy of each (family, outcome) pair, except intact-looking ones."""
    good = write_good(folder / "good.adorec")
    picked: dict[tuple[str, str], tuple[str, bytes, Outcome]] = {}
    probe = folder / "probe.adorec"
    for name, data in variants(good).items():
        probe.write_bytes(data)
        outcome = read_back(probe)
        key = (name.split("-")[0], outcome.kind)
        if outcome.kind != "read" and key not in picked:
            picked[key] = (name, data, outcome)
    return list(picked.values())


@pytest.mark.timeout(900)
def test_replaying_damaged_recordings_fails_clearly_or_counts_skips(tmp_path: Path) -> None:
    cases = representatives(tmp_path)
    assert len(cases) >= 8  # every family, and each way damage shows
    for name, data, outcome in cases:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bad.adorec").write_bytes(data)
        result = run_dora(["replay", "bad.adorec", "--speed", "0"], cwd=folder, timeout=120)
        said = f"{name} ({outcome.kind}):\n{result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr, said
        assert result.returncode in (0, 1), said
        # the replay node's own lines are node output (stdout); dora's errors are on stderr
        replayed = [(int(s), int(k)) for s, k in _REPLAYED.findall(result.stdout)]
        if outcome.kind == "error" or outcome.readable == 0:
            assert result.returncode == 1, said
            assert "error:" in result.stderr, said
            continue
        # the readable messages went out; the damage was said and counted
        assert sum(sent for sent, _ in replayed) == outcome.readable, said
        if outcome.kind == "truncated":
            assert "warning:" in result.stdout, said
        else:
            assert sum(skipped for _, skipped in replayed) >= 1, said
