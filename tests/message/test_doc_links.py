"""The README and the docs keep their promises: every relative link resolves to a file of
the repository (and, when it names one, a heading of that file), and the README's first
node is `examples/first-node`, which runs as the README says."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.procs import run_dora

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("packages/*/README.md")]
)
FIRST_NODE = ROOT / "examples" / "first-node"

# [text](target) and [text]: target, outside code; a target may carry a "title"
INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def links(markdown: str) -> list[str]:
    prose = CODE_SPAN.sub("", FENCE.sub("", markdown))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def is_relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith("//")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", markdown), re.M):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in links(document.read_text()):
        if not is_relative(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.exists():
            broken.append(f"{target} (no file {os.path.relpath(resolved, ROOT)})")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(document: Path) -> None:
    assert broken_links(document) == []


def test_the_checker_sees_broken_links_and_ignores_code(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading, with `code`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#a-heading-with-code) [web](https://example.org/x.md)\n"
        "[gone](missing.md) [bad anchor](there.md#nope)\n"
        "`[not a link](in-code.md)`\n```\n[nor](this.md)\n```\n[ref]: also-missing.md\n"
    )
    assert broken_links(page) == [
        f"missing.md (no file {os.path.relpath(tmp_path / 'missing.md', ROOT)})",
        "there.md#nope (no heading #nope in there.md)",
        f"also-missing.md (no file {os.path.relpath(tmp_path / 'also-missing.md', ROOT)})",
    ]


def readme_code_blocks() -> list[str]:
    return [
        block.split("\n", 1)[1].rsplit("```", 1)[0]
        for block in re.findall(
            r"^```[a-z]*\n.*?^```", (ROOT / "README.md").read_text(), re.M | re.S
        )
    ]


def test_the_readmes_first_node_is_the_example() -> None:
    blocks = readme_code_blocks()
    for name in ("sender.py", "receiver.py", "dataflow.yml"):
        assert (FIRST_NODE / name).read_text() in blocks, f"README.md shows another {name}"


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_the_first_node_runs_as_the_readme_says(tmp_path: Path) -> None:
    project = tmp_path / "first-node"
    shutil.copytree(FIRST_NODE, project, ignore=shutil.ignore_patterns("out", "__pycache__"))
    result = run_dora(["run", str(project / "dataflow.yml")], timeout=80)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = [
        line.split("receiver: ", 1)[1]
        for line in result.stdout.splitlines()
        if "receiver: " in line
    ]
    assert printed == [f"received hello {n}" for n in range(5)] + ["done"], result.stdout
