"""`dora self update|uninstall` against a package index served on loopback."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dora_cli import self_update as su
from tests.coordinator.helpers import refused_port
from tests.procs import run_dora

pytestmark = pytest.mark.timeout(120)


def fake_wheel(folder: Path, version: str) -> Path:
    """A minimal installable `dora-dataflow` wheel (a marker module, no code of ours)."""
    name = f"dora_dataflow-{version}-py3-none-any.whl"
    dist = f"dora_dataflow-{version}.dist-info"
    files = {
        "dora_cli_fake_marker.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: dora-dataflow\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    path = folder / name
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


class Index:
    """A PEP 691 simple index for `dora-dataflow` on 127.0.0.1, from wheels in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.versions: list[str] = []
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, version: str) -> None:
        fake_wheel(self.folder, version)
        self.versions.append(version)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/simple/dora-dataflow":
                    files = [
                        {
                            "filename": w.name,
                            "url": f"/files/{w.name}",
                            "hashes": {"sha256": hashlib.sha256(w.read_bytes()).hexdigest()},
                        }
                        for w in sorted(index.folder.glob("*.whl"))
                    ]
                    page = {"meta": {"api-version": "1.1"}, "name": "dora-dataflow", "files": files}
                    self._send(json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json")
                elif self.path.startswith("/files/"):
                    self._send((index.folder / self.path[len("/files/") :]).read_bytes(), "")
                else:
                    self.send_error(404)

            def do_HEAD(self) -> None:  # uv asks before it downloads
                self._head_only = True
                self.do_GET()

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind or "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not getattr(self, "_head_only", False):
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    folder = tmp_path / "wheels"
    folder.mkdir()
    served = Index(folder)
    yield served
    served.close()


def test_release_ordering_and_index_choice() -> None:
    assert su.latest_release(["0.9.0", "0.10.0", "1.0.0rc1", "0.2"]) == "0.10.0"
    assert su.release_key("1.10.0") > su.release_key("1.9.2")  # type: ignore[operator]
    assert su.release_key("2.0.0.dev1") is None
    assert su.latest_release(["1.0a1"]) is None
    assert su.release_key("1.0") == su.release_key("1.0.0")
    assert su.release_key("not a version") is None
    assert su.latest_release(["1.0.0", "1.0.0.post1", "1.1.0rc1"]) == "1.0.0.post1"
    assert su.index_url({}) == "https://pypi.org/simple"
    assert su.index_url({"PIP_INDEX_URL": "http://x/simple/"}) == "http://x/simple"
    assert su.index_url({"UV_DEFAULT_INDEX": "a", "PIP_INDEX_URL": "b"}) == "a"
    files = ["dora_dataflow-1.2.0-py3-none-any.whl", "dora_dataflow-1.3.0.tar.gz", "x", "x.whl"]
    page = {"files": [{"filename": name} for name in files]}
    assert su.versions_from_page(page) == ["1.2.0", "1.3.0"]
    assert su.versions_from_page({"versions": ["3.0"], "files": []}) == ["3.0"]


def test_check_only_against_the_index(index: Index) -> None:
    env = {"UV_DEFAULT_INDEX": index.url}
    index.add("0.0.9")
    current = run_dora(["self", "update", "--check-only"], env=env)
    assert current.returncode == 0, current.stderr
    assert "Dora CLI is up to date (current: 0.1.0, latest release: 0.0.9)" in current.stdout
    index.add("99.0.0")
    newer = run_dora(["self", "update", "--check-only"], env=env)
    assert newer.returncode == 0, newer.stderr
    assert "An update is available: 99.0.0. Run 'dora self update' to update" in newer.stdout
    # this test's dora is the workspace's editable install: updating it is git's job
    refused = run_dora(["self", "update"], env=env)
    assert refused.returncode == 1
    assert "source checkout" in refused.stderr and "Traceback" not in refused.stderr


def test_index_without_dora_dataflow_and_unreachable_index(index: Index) -> None:
    empty = run_dora(["self", "update", "--check-only"], env={"UV_DEFAULT_INDEX": index.url})
    assert empty.returncode == 1
    assert "has no release of dora-dataflow" in empty.stderr
    with refused_port() as port:  # bound by this test, never listening
        nowhere = f"http://127.0.0.1:{port}/simple"
        gone = run_dora(["self", "update", "--check-only"], env={"UV_DEFAULT_INDEX": nowhere})
    assert gone.returncode == 1
    assert "cannot read the package index" in gone.stderr and "Traceback" not in gone.stderr
    other = run_dora(
        ["self", "update", "--check-only"], env={"UV_DEFAULT_INDEX": index.url + "/nothing"}
    )
    assert other.returncode == 1 and "is not on the package index" in other.stderr


def test_uninstall_asks_for_force_without_a_terminal() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dora_cli", "self", "uninstall"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "pass --force" in result.stderr and "Traceback" not in result.stderr


def test_update_and_uninstall_in_a_throwaway_environment(tmp_path: Path, index: Index) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        ["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    python = str(venv / "bin" / "python")
    index.add("1.0.0")
    index.add("2.0.0")
    su.run_installer(python, ["install", "--index-url", index.url, "dora-dataflow==1.0.0"])

    def installed() -> str:
        probe = "import importlib.metadata as m; print(m.version('dora-dataflow'))"
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else "none"

    assert installed() == "1.0.0"
    su.update(python, "2.0.0", index.url)
    assert installed() == "2.0.0"
    su.uninstall(python)
    assert installed() == "none"
    with pytest.raises(su.SelfUpdateError, match="failed"):
        su.update(python, "3.0.0", index.url)  # not on the index
