"""Token files and the constant-time bearer check."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dora_coordinator.auth import (
    TokenFileError,
    bearer_header,
    bearer_ok,
    load_or_create_token,
    read_token_file,
)


def test_token_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / ".dora-token"
    token = load_or_create_token(path)
    assert len(token) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == token
    assert read_token_file(path) == token


def test_readable_by_others_or_empty_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("secret\n")
    path.chmod(0o644)
    with pytest.raises(TokenFileError, match="can be read by others"):
        read_token_file(path)
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(TokenFileError, match="empty"):
        read_token_file(path)
    with pytest.raises(TokenFileError, match="does not exist"):
        read_token_file(tmp_path / "missing")


def test_bearer_check() -> None:
    assert bearer_ok(bearer_header("abc")["Authorization"], "abc")
    assert not bearer_ok("Bearer abd", "abc")
    assert not bearer_ok("Bearer ", "abc")
    assert not bearer_ok("abc", "abc")
    assert not bearer_ok(None, "abc")


def test_uncreatable_token_file_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(TokenFileError, match=r"cannot create token file .*not-a-dir/token"):
        load_or_create_token(blocker / "token")
