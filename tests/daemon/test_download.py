"""URL node sources: download from a loopback HTTP server, verify, unpack, cache."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dora_daemon.download import DownloadError, download_dir, fetch_url
from dora_daemon.sources import ResolvedSource, default_cache_dir, resolve_sources
from dora_message.descriptor import Descriptor, Node

SCRIPT = b"#!/bin/sh\necho hello from a downloaded node\n"


def make_zip(entries: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, (data, mode) in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def make_tar(entries: dict[str, tuple[bytes, int]], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tf:  # type: ignore[call-overload]
        for name, (data, file_mode) in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = file_mode
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FileServer:
    """Serves ``files`` on 127.0.0.1 and counts the requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests[self.path] += 1
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    fs = FileServer()
    fs.thread.start()
    try:
        yield fs
    finally:
        fs.server.shutdown()
        fs.server.server_close()
        fs.thread.join(timeout=5)


def fetch(url: str, cache: Path, sha256: str | None = None) -> Path:
    return asyncio.run(fetch_url(url, sha256=sha256, cache_dir=cache))


def test_single_file_is_downloaded_executable_and_cached(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/bin/tool.sh"] = SCRIPT
    url = server.url("/bin/tool.sh")
    cache = tmp_path / "cache"
    path = fetch(url, cache)
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    assert path == cache / "downloads" / key / "content" / "tool.sh"
    assert path.read_bytes() == SCRIPT
    assert os.access(path, os.X_OK)
    assert fetch(url, cache) == path
    assert fetch(url, cache, hashlib.sha256(SCRIPT).hexdigest()) == path
    assert server.requests["/bin/tool.sh"] == 1


def test_good_sha256_passes_and_bad_sha256_deletes_the_file(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/node"] = SCRIPT
    url = server.url("/node")
    cache = tmp_path / "cache"
    bad = "0" * 64
    with pytest.raises(DownloadError, match=f"sha256 mismatch: expected {bad}") as caught:
        fetch(url, cache, bad)
    assert caught.value.url == url
    entry = download_dir(cache, url)
    assert sorted(p.name for p in entry.iterdir()) == []
    good = hashlib.sha256(SCRIPT).hexdigest()
    assert fetch(url, cache, good.upper()).read_bytes() == SCRIPT
    assert server.requests["/node"] == 2


def test_changed_sha256_downloads_again(server: FileServer, tmp_path: Path) -> None:
    server.files["/node"] = b"old"
    url = server.url("/node")
    cache = tmp_path / "cache"
    fetch(url, cache, hashlib.sha256(b"old").hexdigest())
    server.files["/node"] = b"new"
    assert fetch(url, cache, hashlib.sha256(b"new").hexdigest()).read_bytes() == b"new"
    assert server.requests["/node"] == 2


def test_zip_with_single_top_dir_returns_its_python_file(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/node.zip"] = make_zip(
        {"node/main.py": (b"print('hi')\n", 0o644), "node/README.md": (b"doc", 0o644)}
    )
    path = fetch(server.url("/node.zip"), tmp_path / "cache")
    assert path.name == "main.py" and path.parent.name == "node"
    assert path.read_text() == "print('hi')\n"


def test_zip_keeps_executable_bits(server: FileServer, tmp_path: Path) -> None:
    server.files["/bin.zip"] = make_zip({"run": (SCRIPT, 0o755), "data.txt": (b"data", 0o644)})
    path = fetch(server.url("/bin.zip"), tmp_path / "cache")
    assert path.name == "run"
    assert os.access(path, os.X_OK)
    assert not os.access(path.parent / "data.txt", os.X_OK)


@pytest.mark.parametrize(
    ("name", "mode"), [("/node.tar.gz", "w:gz"), ("/node.tgz", "w:gz"), ("/node.tar", "w")]
)
def test_tarballs_are_unpacked(server: FileServer, tmp_path: Path, name: str, mode: str) -> None:
    server.files[name] = make_tar(
        {"main.py": (b"print(1)\n", 0o644), "lib/util.txt": (b"u", 0o644)}, mode
    )
    path = fetch(server.url(name), tmp_path / "cache")
    assert path.name == "main.py"
    assert (path.parent / "lib" / "util.txt").read_bytes() == b"u"


def test_archive_without_single_entry_point_returns_the_directory(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/two.tar.gz"] = make_tar({"a.py": (b"", 0o644), "b.py": (b"", 0o644)})
    path = fetch(server.url("/two.tar.gz"), tmp_path / "cache")
    assert path.is_dir()
    assert sorted(p.name for p in path.iterdir()) == ["a.py", "b.py"]


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("/evil.zip", make_zip({"../evil.txt": (b"x", 0o644)})),
        ("/evil.tar.gz", make_tar({"../evil.txt": (b"x", 0o644)})),
        ("/abs.tar.gz", make_tar({"/tmp/evil-dora-test.txt": (b"x", 0o644)})),
    ],
    ids=["zip-dotdot", "tar-dotdot", "tar-absolute"],
)
def test_unsafe_archives_are_refused(
    server: FileServer, tmp_path: Path, name: str, payload: bytes
) -> None:
    server.files[name] = payload
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="unsafe path"):
        fetch(server.url(name), cache)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not Path("/tmp/evil-dora-test.txt").exists()
    assert not (download_dir(cache, server.url(name)) / "content").exists()


def test_http_errors_and_bad_arguments(server: FileServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url("/missing"), cache)
    with pytest.raises(DownloadError, match="not 64 hexadecimal digits"):
        fetch(server.url("/missing"), cache, "abc")
    with pytest.raises(DownloadError, match="only http"):
        fetch("ftp://127.0.0.1/x", cache)
    with pytest.raises(DownloadError, match="cannot unpack"):
        server.files["/broken.zip"] = b"not a zip"
        fetch(server.url("/broken.zip"), cache)


def test_resolve_sources_for_url_nodes(server: FileServer, tmp_path: Path) -> None:
    server.files["/tool"] = SCRIPT
    server.files["/two.zip"] = make_zip({"a.py": (b"", 0o644), "b.py": (b"", 0o644)})
    cache = tmp_path / "cache"
    ok = Descriptor(
        nodes=[
            Node(id="dl", path=server.url("/tool"), path_sha256=hashlib.sha256(SCRIPT).hexdigest()),
            Node(id="dl2", path=server.url("/tool")),
            Node(id="local", path="local.py"),
        ]
    )
    resolved = asyncio.run(resolve_sources(ok, tmp_path, cache))
    assert set(resolved) == {"dl", "dl2"}
    assert resolved["dl"] == ResolvedSource(working_dir=tmp_path, path=resolved["dl"].path)
    assert Path(resolved["dl"].path).read_bytes() == SCRIPT
    assert resolved["dl2"].path == resolved["dl"].path
    no_entry = Descriptor(nodes=[Node(id="z", path=server.url("/two.zip"))])
    with pytest.raises(DownloadError, match=r"no single executable or \.py file.*a\.py, b\.py"):
        asyncio.run(resolve_sources(no_entry, tmp_path, cache))


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DORA_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "dora"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "dora"
    monkeypatch.setenv("DORA_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
