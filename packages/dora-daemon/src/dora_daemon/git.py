"""Git node sources (``git:`` with ``branch:``, ``tag:`` or ``rev:``): clone or update a cache.

Each (url, ref) pair gets its own clone at
``<cache_dir>/git/<sha256(url)[:16]>-<ref>``, where ``<ref>`` is ``branch-<name>``,
``tag-<name>``, ``rev-<name>`` or ``default`` (the remote's HEAD), sanitized to
``[A-Za-z0-9._-]`` (plus a short hash of the name when sanitizing changed it). The clone's
root becomes the node's working dir for ``build:`` and ``path``.

* First use: ``git clone --no-checkout`` into a temporary dir, renamed into place, so an
  interrupted clone never looks like a finished one.
* Later uses: ``git fetch --tags --force origin``. When the fetch fails (offline) the clone
  is used as it is, with a warning. A ``rev:`` already present locally is not fetched.
* Then the commit is checked out detached and forced (``git checkout --force --detach``):
  tracked files are reset, untracked build outputs stay. Submodules are updated if any.

Uses the ``git`` command line, with terminal prompts disabled so a private repository
fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

from dora_daemon.errors import DaemonError

from .cache_lock import cache_lock

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class GitSourceError(DaemonError):
    """Cloning, fetching or checking out a git source failed.

    Attributes:
        url: the repository.
        ref: what was asked for, like ``branch main`` or ``default branch``.
        detail: git's own words (its output), or our explanation.
    """

    def __init__(self, url: str, ref: str, detail: str) -> None:
        self.url = url
        self.ref = ref
        self.detail = detail
        super().__init__(f"git source {url} ({ref}): {detail}")


def _ref_description(branch: str | None, tag: str | None, rev: str | None) -> str:
    if branch is not None:
        return f"branch {branch}"
    if tag is not None:
        return f"tag {tag}"
    if rev is not None:
        return f"rev {rev}"
    return "default branch"


def ref_label(branch: str | None = None, tag: str | None = None, rev: str | None = None) -> str:
    """The file-system-safe name of a ref, used in the clone directory name."""
    for kind, name in (("branch", branch), ("tag", tag), ("rev", rev)):
        if name is not None:
            safe = _UNSAFE.sub("_", name)[:64]
            if safe != name:  # keep `a/b` and `a_b` apart
                safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
            return f"{kind}-{safe}"
    return "default"


def clone_dir(
    cache_dir: Path,
    url: str,
    *,
    branch: str | None = None,
    tag: str | None = None,
    rev: str | None = None,
) -> Path:
    """Where the clone of ``url`` at the given ref lives."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(cache_dir) / "git" / f"{key}-{ref_label(branch, tag, rev)}"


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # fail instead of asking for credentials
    env["GCM_INTERACTIVE"] = "never"
    return env


async def _git(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run git; its exit code and combined output (stripped)."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=_git_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await proc.communicate()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", errors="replace").strip()


async def _commit_of(repo: Path, spec: str) -> str | None:
    code, out = await _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=repo)
    return out.splitlines()[-1] if code == 0 and out else None


async def fetch_git(
    url: str,
    *,
    branch: str | None = None,
    tag: str | None = None,
    rev: str | None = None,
    cache_dir: Path,
) -> Path:
    """Clone or update ``url`` at the ref in the cache; the repository root.

    At most one of ``branch``, ``tag`` and ``rev`` may be given; none means the remote's
    default branch. Raises :class:`GitSourceError` naming url and ref on failure.
    """
    ref = _ref_description(branch, tag, rev)
    if sum(value is not None for value in (branch, tag, rev)) > 1:
        raise GitSourceError(url, ref, "give at most one of `branch`, `tag` and `rev`")
    for value in (url, branch, tag, rev):
        if value is not None and (not value or value.startswith("-")):
            # would be read as a git option
            raise GitSourceError(url, ref, f"invalid url or ref name `{value}`")
    if shutil.which("git") is None:
        raise GitSourceError(url, ref, "the `git` command is not installed (not on PATH)")
    dest = clone_dir(cache_dir, url, branch=branch, tag=tag, rev=rev)
    async with cache_lock(dest.with_name(dest.name + ".lock")):
        fresh = False
        if not (dest / ".git").is_dir():
            await _clone(url, ref, dest)
            fresh = True
        commit = await _resolve(dest, url, ref, branch=branch, tag=tag, rev=rev, fresh=fresh)
        code, out = await _git(
            "-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach",
            commit, cwd=dest,
        )  # fmt: skip
        if code != 0:
            raise GitSourceError(url, ref, f"checkout of {commit} failed: {out}")
        if (dest / ".gitmodules").exists():
            code, out = await _git("submodule", "update", "--init", "--recursive", cwd=dest)
            if code != 0:
                raise GitSourceError(url, ref, f"submodule update failed: {out}")
        log.info("git source %s (%s) at %s in %s", url, ref, commit[:12], dest)
        return dest


async def _clone(url: str, ref: str, dest: Path) -> None:
    if dest.exists():  # not a repository: a leftover we cannot trust
        shutil.rmtree(dest)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    dest.parent.mkdir(parents=True, exist_ok=True)
    code, out = await _git("clone", "--quiet", "--no-checkout", url, str(tmp))
    if code != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GitSourceError(url, ref, f"clone failed: {out}")
    tmp.rename(dest)


async def _fetch(repo: Path, url: str, ref: str) -> None:
    code, out = await _git("fetch", "--quiet", "--tags", "--force", "origin", cwd=repo)
    if code != 0:
        log.warning("git source %s (%s): fetch failed, using the cached clone: %s", url, ref, out)


async def _resolve(
    repo: Path,
    url: str,
    ref: str,
    *,
    branch: str | None,
    tag: str | None,
    rev: str | None,
    fresh: bool,
) -> str:
    """The commit to check out, fetching first unless the clone is fresh."""
    if rev is not None:
        commit = await _commit_of(repo, rev)
        if commit is None and not fresh:
            await _fetch(repo, url, ref)
            commit = await _commit_of(repo, rev)
        if commit is None:
            # A commit no branch or tag reaches: servers may still hand it out by id.
            code, _ = await _git("fetch", "--quiet", "origin", rev, cwd=repo)
            if code == 0:
                commit = await _commit_of(repo, "FETCH_HEAD")
        if commit is None:
            raise GitSourceError(url, ref, f"revision `{rev}` not found in the repository")
        return commit
    if not fresh:
        await _fetch(repo, url, ref)
    if branch is not None:
        spec, what = f"refs/remotes/origin/{branch}", f"branch `{branch}`"
    elif tag is not None:
        spec, what = f"refs/tags/{tag}", f"tag `{tag}`"
    else:
        spec, what = "refs/remotes/origin/HEAD", "a default branch (remote HEAD)"
    commit = await _commit_of(repo, spec)
    if commit is None:
        raise GitSourceError(url, ref, f"the repository has no {what}")
    return commit
