"""The workspace's distributions, read from its pyproject files (no name is hard-coded)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Distribution:
    """One publishable package of the workspace."""

    name: str  # as declared in [project] name
    version: str
    folder: Path
    scripts: frozenset[str]  # the commands it installs

    @property
    def normalized(self) -> str:
        """The PEP 503 form of the name (``dora-node-api``)."""
        return normalize(self.name)

    @property
    def file_stem(self) -> str:
        """The name as wheel and sdist file names spell it (``dora_node_api``)."""
        return self.normalized.replace("-", "_")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def workspace_distributions(root: Path) -> list[Distribution]:
    """Every member of the uv workspace at ``root`` that declares a ``[project]``."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
    found: list[Distribution] = []
    for pattern in patterns:
        for folder in sorted(root.glob(pattern)):
            pyproject = folder / "pyproject.toml"
            if not pyproject.is_file():
                continue
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project")
            if not project or "name" not in project:
                continue
            found.append(
                Distribution(
                    name=project["name"],
                    version=str(project.get("version", "")),
                    folder=folder,
                    scripts=frozenset(project.get("scripts", {})),
                )
            )
    return found


def providing(distributions: list[Distribution], command: str) -> Distribution:
    """The distribution that installs ``command`` (``dora``: the CLI)."""
    for distribution in distributions:
        if command in distribution.scripts:
            return distribution
    raise LookupError(f"no workspace distribution installs the `{command}` command")
