"""Git node sources, offline: a repository made in tmp_path, cloned by file:// URL or path."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from dora_daemon.build import build_dataflow
from dora_daemon.git import GitSourceError, clone_dir, fetch_git, ref_label
from dora_daemon.sources import ResolvedSource, resolve_sources
from dora_message.descriptor import Descriptor, Node
from dora_message.errors import DescriptorError

GIT_ENV = {
    "GIT_AUTHOR_NAME": "dora test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "dora test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def commit(repo: Path, text: str) -> str:
    (repo / "node.py").write_text(text)
    git(repo, "add", "node.py")
    git(repo, "commit", "--quiet", "-m", text)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Upstream:
    path: Path
    url: str
    v1: str
    v2: str
    feature: str


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """main: v1 (tag v1.0) -> v2; branch `feature`: v1 -> feature."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "--quiet", "-b", "main")
    v1 = commit(repo, "v1")
    git(repo, "tag", "v1.0")
    git(repo, "checkout", "--quiet", "-b", "feature")
    feature = commit(repo, "feature")
    git(repo, "checkout", "--quiet", "main")
    v2 = commit(repo, "v2")
    return Upstream(repo, repo.as_uri(), v1, v2, feature)


def fetch(url: str, cache: Path, **ref: str) -> Path:
    return asyncio.run(fetch_git(url, cache_dir=cache, **ref))


def test_default_branch_clone_location_and_content(upstream: Upstream, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = fetch(upstream.url, cache)
    key = hashlib.sha256(upstream.url.encode()).hexdigest()[:16]
    assert root == cache / "git" / f"{key}-default"
    assert (root / "node.py").read_text() == "v2"
    assert git(root, "rev-parse", "HEAD") == upstream.v2


def test_branch_tag_and_rev_each_get_their_own_checkout(upstream: Upstream, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    feature = fetch(upstream.url, cache, branch="feature")
    tagged = fetch(upstream.url, cache, tag="v1.0")
    by_rev = fetch(upstream.url, cache, rev=upstream.v1)
    by_short_rev = fetch(upstream.url, cache, rev=upstream.v1[:10])
    assert (feature / "node.py").read_text() == "feature"
    assert (tagged / "node.py").read_text() == "v1"
    assert (by_rev / "node.py").read_text() == "v1"
    assert (by_short_rev / "node.py").read_text() == "v1"
    assert feature.name.endswith("-branch-feature")
    assert tagged.name.endswith("-tag-v1.0")
    assert len({feature, tagged, by_rev, by_short_rev}) == 4


def test_plain_path_works_as_url(upstream: Upstream, tmp_path: Path) -> None:
    root = fetch(str(upstream.path), tmp_path / "cache", tag="v1.0")
    assert (root / "node.py").read_text() == "v1"


def test_existing_clone_is_updated_and_keeps_build_outputs(
    upstream: Upstream, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    root = fetch(upstream.url, cache, branch="main")
    (root / "build-output.bin").write_text("built")
    (root / "node.py").write_text("local edit")  # tracked files are reset
    v3 = commit(upstream.path, "v3")
    again = fetch(upstream.url, cache, branch="main")
    assert again == root
    assert (root / "node.py").read_text() == "v3"
    assert git(root, "rev-parse", "HEAD") == v3
    assert (root / "build-output.bin").read_text() == "built"


def test_moved_tag_is_followed(upstream: Upstream, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert (fetch(upstream.url, cache, tag="v1.0") / "node.py").read_text() == "v1"
    git(upstream.path, "tag", "--force", "v1.0", upstream.v2)
    assert (fetch(upstream.url, cache, tag="v1.0") / "node.py").read_text() == "v2"


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ({"branch": "nope"}, "(branch nope): the repository has no branch `nope`"),
        ({"tag": "v9"}, "(tag v9): the repository has no tag `v9`"),
        ({"rev": "0123456789abcdef"}, "(rev 0123456789abcdef): revision `0123456789abcdef`"),
        ({"branch": "main", "tag": "v1.0"}, "at most one of `branch`, `tag` and `rev`"),
        ({"branch": "--upload-pack=evil"}, "invalid url or ref name"),
    ],
)
def test_unknown_refs_name_url_and_ref(
    upstream: Upstream, tmp_path: Path, ref: dict[str, str], fragment: str
) -> None:
    with pytest.raises(GitSourceError) as caught:
        fetch(upstream.url, tmp_path / "cache", **ref)
    assert upstream.url in str(caught.value)
    assert fragment in str(caught.value)


def test_clone_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    url = (tmp_path / "does-not-exist").as_uri()
    cache = tmp_path / "cache"
    with pytest.raises(GitSourceError, match="clone failed") as caught:
        fetch(url, cache)
    assert caught.value.url == url and caught.value.ref == "default branch"
    leftovers = [p.name for p in (cache / "git").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_ref_labels_are_file_system_safe() -> None:
    assert ref_label(branch="feature/x") != ref_label(branch="feature_x")
    assert "/" not in ref_label(branch="feature/x")
    assert ref_label(rev="abc123") == "rev-abc123"
    assert ref_label() == "default"
    assert clone_dir(Path("/c"), "u", tag="v1").name.endswith("-tag-v1")


def test_resolve_sources_gives_clone_root_as_working_dir(
    upstream: Upstream, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    descriptor = Descriptor(
        nodes=[
            Node(id="remote", git=upstream.url, branch="feature", path="node.py"),
            Node(id="same-repo", git=upstream.url, branch="feature", path="other.py"),
            Node(id="relative", git="upstream", tag="v1.0", path="node.py"),
            Node(id="local", path="local.py"),
        ]
    )
    resolved = asyncio.run(resolve_sources(descriptor, tmp_path, cache))
    feature_root = clone_dir(cache, upstream.url, branch="feature")
    relative_root = clone_dir(cache, str(upstream.path.resolve()), tag="v1.0")
    assert resolved == {
        "remote": ResolvedSource(working_dir=feature_root, path="node.py"),
        "same-repo": ResolvedSource(working_dir=feature_root, path="other.py"),
        "relative": ResolvedSource(working_dir=relative_root, path="node.py"),
    }
    assert (relative_root / "node.py").read_text() == "v1"


def test_build_runs_from_the_repository_root(upstream: Upstream, tmp_path: Path) -> None:
    descriptor = Descriptor(
        nodes=[Node(id="n", git=upstream.url, path="node.py", build="cp node.py built.txt")]
    )

    async def scenario() -> Path:
        resolved = await resolve_sources(descriptor, tmp_path, tmp_path / "cache")
        dirs = {node_id: source.working_dir for node_id, source in resolved.items()}
        await build_dataflow(descriptor, tmp_path, working_dirs=dirs)
        return dirs["n"]

    root = asyncio.run(scenario())
    assert (root / "built.txt").read_text() == "v2"
    assert not (tmp_path / "built.txt").exists()


def test_git_node_without_path_is_rejected(upstream: Upstream, tmp_path: Path) -> None:
    descriptor = Descriptor(nodes=[Node(id="n", git=upstream.url)])
    with pytest.raises(DescriptorError, match=r"nodes\[0\]: a node with `git:` also needs"):
        asyncio.run(resolve_sources(descriptor, tmp_path, tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()
