"""Where each node's code comes from, beyond plain local paths: git clones and downloads.

:func:`resolve_sources` fetches what the descriptor points at and tells the builder and
spawner, per node, which directory to work in and what ``path`` to run:

* ``git:`` node: the clone root (:func:`dora_daemon.git.fetch_git`) is the working dir;
  ``path`` stays as written, relative to that root. A ``git:`` value that is neither a URL
  nor ``user@host:path`` but names an existing directory relative to ``base_dir`` is made
  absolute (a local repository).
* ``path: http(s)://...`` node: the download (:func:`dora_daemon.download.fetch_url`,
  verified with ``path_sha256``) gives the absolute path to run; the working dir stays
  ``base_dir``, as for a local node. An archive without a single entry point is an error.

Nodes with neither are left out of the result. Fetches run concurrently; a repository
asked for by several nodes at the same ref is fetched once.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dora_message.constants import ENV_CACHE_DIR
from dora_message.descriptor import Descriptor, Node
from dora_message.errors import DescriptorError

from .download import DownloadError, fetch_url, is_url
from .git import fetch_git

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class ResolvedSource:
    """Where a node builds and runs, and what it runs."""

    working_dir: Path
    path: str


def default_cache_dir() -> Path:
    """``$DORA_CACHE_DIR``, else ``$XDG_CACHE_HOME/dora``, else ``~/.cache/dora``."""
    if explicit := os.environ.get(ENV_CACHE_DIR):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "dora"
    return Path.home() / ".cache" / "dora"


def git_location(url: str, base_dir: Path) -> str:
    """The ``git:`` value as git should see it (relative local repositories made absolute)."""
    if "://" in url or _SCP_LIKE.match(url):
        return url
    candidate = Path(url).expanduser()
    if not candidate.is_absolute():
        candidate = Path(base_dir) / candidate
    return str(candidate.resolve()) if candidate.is_dir() else url


async def resolve_sources(
    descriptor: Descriptor, base_dir: Path, cache_dir: Path | None = None
) -> dict[str, ResolvedSource]:
    """Fetch every git and URL source of the dataflow; per node id, where and what to run.

    Raises :class:`~dora_daemon.git.GitSourceError`,
    :class:`~dora_daemon.download.DownloadError` or ``DescriptorError`` (a git node
    without ``path``); when several fail, the first node's error in descriptor order.
    """
    cache = default_cache_dir() if cache_dir is None else Path(cache_dir)
    base = Path(base_dir)
    fetches: dict[tuple[str, ...], asyncio.Task[Path]] = {}
    per_node: dict[str, tuple[asyncio.Task[Path], Node]] = {}
    for index, node in enumerate(descriptor.nodes):  # check before starting any fetch
        if node.git is not None and not node.path:
            raise DescriptorError(
                "a node with `git:` also needs `path:` (relative to the repository root)",
                path=f"nodes[{index}]",
            )
    for node in descriptor.nodes:
        if node.git is not None:
            url = git_location(node.git, base)
            key = ("git", url, node.branch or "", node.tag or "", node.rev or "")
            if key not in fetches:
                fetches[key] = asyncio.ensure_future(
                    fetch_git(url, branch=node.branch, tag=node.tag, rev=node.rev, cache_dir=cache)
                )
        elif node.path is not None and is_url(node.path):
            key = ("url", node.path, node.path_sha256 or "")
            if key not in fetches:
                fetches[key] = asyncio.ensure_future(
                    fetch_url(node.path, sha256=node.path_sha256, cache_dir=cache)
                )
        else:
            continue
        per_node[node.id] = (fetches[key], node)
    if fetches:
        # Let every fetch finish (no half-written cache entries), then report in node order.
        await asyncio.gather(*fetches.values(), return_exceptions=True)
    resolved: dict[str, ResolvedSource] = {}
    for node_id, (task, node) in per_node.items():
        fetched = task.result()  # raises the fetch's error
        if node.git is not None:
            resolved[node_id] = ResolvedSource(working_dir=fetched, path=node.path or "")
        else:
            if fetched.is_dir():
                names = ", ".join(sorted(p.name for p in fetched.iterdir())) or "nothing"
                raise DownloadError(
                    node.path or "",
                    f"the archive has no single executable or .py file at its top level "
                    f"(found: {names}); point `path` at a file",
                )
            resolved[node_id] = ResolvedSource(working_dir=base, path=str(fetched))
    return resolved
