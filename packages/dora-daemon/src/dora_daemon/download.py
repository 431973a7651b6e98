"""Node sources given as ``http(s)://`` URLs: download, verify, unpack, cache.

Cache entry: ``<cache_dir>/downloads/<sha256(url)[:16]>/`` holding ``content/`` and a
``.dora-download.json`` marker (url, sha256 of the downloaded bytes, file name), written
last. A later call is a cache hit, with no request, when the marker names the same url,
``content/`` exists, and, if ``sha256`` is asked for, the marker's digest equals it. A
different ``sha256`` downloads again (the upstream file changed) and verifies again.

Downloads stream to a temporary file while hashing; a digest mismatch deletes the file and
raises :class:`DownloadError`. Archives are recognized by the URL's file name: ``.zip``,
``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2``, ``.tar.xz``/``.txz``. Every member
is checked before anything is written: absolute names, ``..`` and links leaving the
directory are refused (tar additionally goes through the ``data`` extraction filter).

What :func:`fetch_url` returns (the thing to execute):

* a single file: ``content/<name>``, made executable;
* an archive: the top of the unpacked tree (if it holds exactly one directory and nothing
  else, that directory); then, if that top level holds exactly one regular file that is
  executable or ends in ``.py`` (hidden files ignored), that file; otherwise the directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import stat
import urllib.parse
from pathlib import Path, PurePosixPath

import msgspec

from dora_daemon.errors import DaemonError

from .cache_lock import cache_lock

log = logging.getLogger(__name__)

ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
)  # fmt: skip
MARKER = ".dora-download.json"
CONTENT = "content"
TIMEOUT_SECONDS = 60.0
_CHUNK = 1 << 20


class DownloadError(DaemonError):
    """A URL source could not be downloaded, verified or unpacked.

    Attributes:
        url: the source.
        reason: what went wrong.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"download of {url} failed: {reason}")


class _Marker(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    sha256: str
    name: str
    archive: bool


def is_url(path: str) -> bool:
    """Whether a node ``path`` is a download URL."""
    return path.startswith(("http://", "https://"))


def download_dir(cache_dir: Path, url: str) -> Path:
    """The cache entry of ``url``."""
    return Path(cache_dir) / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16]


def file_name(url: str) -> str:
    """The file name at the end of the URL's path (``download`` when there is none)."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name if name not in ("", ".", "..") else "download"


def is_archive(name: str) -> bool:
    """Whether a file name has one of :data:`ARCHIVE_SUFFIXES`."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


async def fetch_url(url: str, *, sha256: str | None = None, cache_dir: Path) -> Path:
    """Download (or reuse) ``url``; the path to execute (see the module docstring).

    Raises :class:`DownloadError`.
    """
    if not is_url(url):
        raise DownloadError(url, "only http:// and https:// URLs can be downloaded")
    expected = None
    if sha256 is not None:
        expected = sha256.strip().lower()
        if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
            raise DownloadError(url, f"path_sha256 `{sha256}` is not 64 hexadecimal digits")
    entry = download_dir(cache_dir, url)
    async with cache_lock(entry.with_name(entry.name + ".lock")):
        return await asyncio.to_thread(_fetch_blocking, url, expected, entry)


def _read_marker(entry: Path) -> _Marker | None:
    try:
        return msgspec.json.decode((entry / MARKER).read_bytes(), type=_Marker)
    except (OSError, msgspec.DecodeError):
        return None


def _fetch_blocking(url: str, expected: str | None, entry: Path) -> Path:
    marker = _read_marker(entry)
    content = entry / CONTENT
    if (
        marker is not None
        and marker.url == url
        and content.is_dir()
        and (expected is None or marker.sha256 == expected)
    ):
        log.debug("download cache hit for %s in %s", url, entry)
        return _entry_point(content, marker)

    entry.mkdir(parents=True, exist_ok=True)
    (entry / MARKER).unlink(missing_ok=True)  # the entry is incomplete from here on
    name = file_name(url)
    partial = entry / ".partial"
    digest = _download(url, partial)
    if expected is not None and digest != expected:
        partial.unlink(missing_ok=True)
        raise DownloadError(url, f"sha256 mismatch: expected {expected}, got {digest}")

    staging = entry / ".content-tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    archive = is_archive(name)
    try:
        if archive:
            _unpack(url, partial, name, staging)
            partial.unlink()
        else:
            target = staging / name
            os.replace(partial, target)
            mode = target.stat().st_mode
            target.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        partial.unlink(missing_ok=True)
        raise
    shutil.rmtree(content, ignore_errors=True)
    os.replace(staging, content)
    new_marker = _Marker(url=url, sha256=digest, name=name, archive=archive)
    tmp_marker = entry / (MARKER + ".tmp")
    tmp_marker.write_bytes(msgspec.json.encode(new_marker))
    os.replace(tmp_marker, entry / MARKER)
    log.info("downloaded %s (sha256 %s) into %s", url, digest, content)
    return _entry_point(content, new_marker)


def _download(url: str, target: Path) -> str:
    """Stream ``url`` into ``target``; the sha256 hex digest of the bytes."""
    # imported here, as tarfile and zipfile in _unpack: they pull http.client, ssl and the
    # compression modules, tens of ms of every `dora run` start, for URL sources only
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "dora-daemon"})
    hasher = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response,
            open(target, "wb") as out,
        ):
            while chunk := response.read(_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as err:
        target.unlink(missing_ok=True)
        raise DownloadError(url, f"HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        target.unlink(missing_ok=True)
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        raise DownloadError(url, str(reason)) from err
    return hasher.hexdigest()


def _check_member(url: str, name: str, dest: Path) -> None:
    """Refuse a member name that would land outside ``dest``."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
        raise DownloadError(url, f"unsafe path `{name}` in archive (it leaves the directory)")
    target = (dest / pure).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise DownloadError(url, f"unsafe path `{name}` in archive (it leaves the directory)")


def _unpack(url: str, archive: Path, name: str, dest: Path) -> None:
    import tarfile
    import zipfile

    try:
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                members = zf.infolist()
                for info in members:
                    _check_member(url, info.filename, dest)
                for info in members:
                    path = Path(zf.extract(info, dest))
                    mode = (info.external_attr >> 16) & 0o777
                    if mode and not info.is_dir():
                        path.chmod(mode & 0o755)  # keep exec bits, drop group/other write
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(url, member.name, dest)
                tf.extractall(dest, members=members, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DownloadError(url, f"cannot unpack `{name}`: {err}") from err


def _entry_point(content: Path, marker: _Marker) -> Path:
    if not marker.archive:
        return content / marker.name
    root = content
    entries = [p for p in root.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        root = entries[0]
    candidates = [
        p
        for p in sorted(root.iterdir())
        if not p.name.startswith(".")
        and p.is_file()
        and not p.is_symlink()
        and (p.suffix == ".py" or os.access(p, os.X_OK))
    ]
    return candidates[0] if len(candidates) == 1 else root
