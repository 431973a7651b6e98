"""The instructions of a generated project, as its README gives them to a new user.

The templates' READMEs (templates/src/dora_templates) have the sections ``## Set up``,
``## Run`` and ``## Test``. A user follows the first ``bash`` block of Set up (the uv way),
then every ``bash`` block of Run and Test. Python projects give the pip way as the second
Set up block; in the venv it makes, Run and Test are typed without their ``uv run``.
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_FENCE = re.compile(r"^```\s*(\S*)\s*$")
SECTIONS = ("Set up", "Run", "Test")


def bash_blocks(readme: str) -> dict[str, list[str]]:
    """``{section title: [bash block text, ...]}`` for the level-2 sections of ``readme``."""
    blocks: dict[str, list[str]] = {}
    section = ""
    lines: list[str] | None = None  # inside a bash block
    language = ""
    for line in readme.splitlines():
        fence = _FENCE.match(line)
        if fence and lines is None:
            language = fence.group(1)
            lines = []
            continue
        if fence and lines is not None:
            if language in ("bash", "sh", "shell"):
                blocks.setdefault(section, []).append("\n".join(lines))
            lines = None
            continue
        if lines is not None:
            lines.append(line)
            continue
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            section = heading.group(2)
    return blocks


def instructions(readme: str, pip: bool = False) -> str:
    """The shell script a new user would type: Set up, Run, Test (``pip``: the pip way).

    Raises ``ValueError`` when the README has no such Set up block or neither Run nor Test.
    """
    blocks = bash_blocks(readme)
    setup = blocks.get("Set up", [])
    if len(setup) < (2 if pip else 1):
        way = "a second bash block (the pip way)" if pip else "a bash block"
        raise ValueError(f"the README has no {way} under `## Set up`")
    if not blocks.get("Run") and not blocks.get("Test"):
        raise ValueError("the README has no bash block under `## Run` or `## Test`")
    then = [*blocks.get("Run", []), *blocks.get("Test", [])]
    if pip:
        then = [_UV_RUN.sub("", block) for block in then]
    return "\n".join([setup[1 if pip else 0], *then]) + "\n"


_UV_RUN = re.compile(r"^uv run ", re.MULTILINE)
