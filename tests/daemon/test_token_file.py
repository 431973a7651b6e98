"""One strict token-file reader for the daemon, the coordinator and the CLI (issue 13 item 16).

The daemon used to read its ``--token-file`` with ``Path.stat`` (following symlinks) and no
owner check, while the coordinator refused both. The daemon processes here are real ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dora_coordinator.auth import read_token_file as coordinator_reader
from dora_message.token_file import TokenFileError, read_token_file
from tests.coordinator.helpers import Proc, cluster, refused_port, start_coordinator, start_daemon

__all__ = ["cluster"]

OTHER_UID = 65534  # `nobody` on most systems; any uid that is not ours will do


def owner_only(path: Path, text: str = "secret-token\n") -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def daemon_refuses(token_file: Path, *cli: str) -> str:
    """Start a daemon (``python -m dora_daemon`` or ``dora daemon``) with ``token_file``;
    it must exit at once with an error; its output."""
    with refused_port() as number:  # a daemon that accepted the file would retry forever
        port = str(number)
        if cli:
            args = [sys.executable, "-m", "dora_cli", *cli, "--coordinator-port", port]
        else:
            args = [sys.executable, "-m", "dora_daemon", "--coordinator-port", port]
        result = subprocess.run(
            [*args, "--token-file", str(token_file)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "secret-token" not in output  # the token is never echoed
    return output


@pytest.mark.timeout(120)
@pytest.mark.integration
@pytest.mark.parametrize("cli", [(), ("daemon",)], ids=["python-m-dora_daemon", "dora-daemon"])
def test_the_daemon_refuses_a_symlinked_token_file(tmp_path: Path, cli: tuple[str, ...]) -> None:
    target = owner_only(tmp_path / "real-token")
    link = tmp_path / "token-link"
    link.symlink_to(target)
    assert "is a symlink" in daemon_refuses(link, *cli)


@pytest.mark.timeout(120)
@pytest.mark.integration
@pytest.mark.parametrize("cli", [(), ("daemon",)], ids=["python-m-dora_daemon", "dora-daemon"])
def test_the_daemon_refuses_a_token_file_of_another_user(
    tmp_path: Path, cli: tuple[str, ...]
) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a file to another uid (os.chown) needs root")
    path = owner_only(tmp_path / "token")
    os.chown(path, OTHER_UID, OTHER_UID)
    assert "belongs to another user" in daemon_refuses(path, *cli)


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_the_daemon_refuses_a_token_file_others_can_read(tmp_path: Path) -> None:
    path = owner_only(tmp_path / "token")
    path.chmod(0o640)
    assert "can be read by others" in daemon_refuses(path)


@pytest.mark.timeout(120)
@pytest.mark.integration
def test_a_good_token_file_still_lets_the_daemon_in(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    token_file = tmp_path / "token"
    procs.append(coordinator := start_coordinator(0, "--token-file", str(token_file)))  # 0600
    port = coordinator.port
    procs.append(start_daemon(port, "--token-file", str(token_file)))  # returns once registered


@pytest.mark.timeout(30)
def test_the_coordinator_and_the_daemon_share_one_reader() -> None:
    assert coordinator_reader is read_token_file


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(TokenFileError, match="not a regular file"):
        read_token_file(fifo)


@pytest.mark.timeout(30)
def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "token"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(TokenFileError, match="symlink"):
        read_token_file(link)
