"""Every distribution of the workspace is publishable on its own: complete metadata, a
changelog entry for its version, honest sibling ranges, and dependencies that match what
its code imports (a module imported but not declared breaks the package outside the
workspace, where the siblings' dependencies are not there to hide the gap)."""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
MEMBER_FOLDERS = sorted(
    pyproject
    for pattern in WORKSPACE["members"]
    for pyproject in ROOT.glob(f"{pattern}/pyproject.toml")
)


@dataclass(frozen=True)
class Member:
    folder: Path
    project: dict
    pyproject: dict

    @property
    def name(self) -> str:
        return canonicalize_name(self.project["name"])

    @property
    def modules(self) -> list[Path]:
        """The import packages its wheel ships (``src/<module>`` folders)."""
        packages = self.pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        return [self.folder / package for package in packages]

    def requirements(self) -> list[Requirement]:
        """Its dependencies and those of every extra."""
        listed = list(self.project.get("dependencies", []))
        for extra in self.project.get("optional-dependencies", {}).values():
            listed.extend(extra)
        return [Requirement(text) for text in listed]


@cache
def members() -> dict[str, Member]:
    found = {}
    for path in MEMBER_FOLDERS:
        pyproject = tomllib.loads(path.read_text())
        member = Member(path.parent, pyproject["project"], pyproject)
        found[member.name] = member
    return found


def first_party_modules() -> dict[str, str]:
    """Top-level import name -> the workspace distribution that ships it."""
    return {module.name: m.name for m in members().values() for module in m.modules}


def imported_top_level(package: Path) -> set[str]:
    """Every absolute import in the package, lazy ones inside functions included."""
    names = set()
    for file in package.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def distribution_of(module: str) -> str:
    own = first_party_modules()
    if module in own:
        return own[module]
    third_party = packages_distributions().get(module)
    assert third_party, f"no installed distribution provides the module `{module}`"
    return canonicalize_name(third_party[0])


MEMBER_IDS = [path.parent.relative_to(ROOT).as_posix() for path in MEMBER_FOLDERS]


@pytest.fixture(params=MEMBER_IDS)
def member(request: pytest.FixtureRequest) -> Member:
    folder = ROOT / request.param
    return next(m for m in members().values() if m.folder == folder)


def test_the_cli_distribution_is_dora_dataflow() -> None:
    # `dora-cli` on PyPI belongs to an unrelated project
    cli = next(m for m in members().values() if m.folder.name == "dora-cli")
    assert cli.name == "dora-dataflow"
    assert cli.project["scripts"] == {"dora": "dora_cli.main:main"}


def test_metadata_is_complete(member: Member) -> None:
    project = member.project
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "Apache License" in (member.folder / "LICENSE").read_text()
    assert project["requires-python"] == ">=3.11"
    assert project["description"] and project["keywords"] and project["urls"]
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")], (
        "PEP 639: the SPDX `license` replaces license classifiers"
    )
    readme = (member.folder / project["readme"]).read_text()
    assert readme.startswith(f"# {project['name']}\n")
    assert f"pip install {project['name']}" in readme, "the README says how to install it"
    hatchling = Requirement(member.pyproject["build-system"]["requires"][0])
    assert hatchling.name == "hatchling" and hatchling.specifier.contains("1.27")
    assert not hatchling.specifier.contains("1.26"), "SPDX licenses need hatchling 1.27"


def test_changelog_has_an_entry_for_the_version(member: Member) -> None:
    changelog = (member.folder / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n")
    assert "## [Unreleased]" in changelog
    assert f"## [{member.project['version']}] - " in changelog


def test_sibling_ranges_admit_the_sibling_and_stop_before_its_next_breaking_version(
    member: Member,
) -> None:
    sources = member.pyproject.get("tool", {}).get("uv", {}).get("sources", {})
    for requirement in member.requirements():
        sibling = members().get(canonicalize_name(requirement.name))
        if sibling is None:
            continue
        assert sources.get(requirement.name) == {"workspace": True}, requirement
        bounds = {spec.operator: Version(spec.version) for spec in requirement.specifier}
        assert set(bounds) == {">=", "<"}, f"{member.name}: `{requirement}` needs >=X,<Y"
        current = Version(sibling.project["version"])
        assert bounds[">="] <= current < bounds["<"], f"{member.name}: `{requirement}`"
        breaking = (
            Version(f"0.{current.minor + 1}")
            if current.major == 0
            else Version(f"{current.major + 1}")
        )
        assert bounds["<"] == breaking, f"{member.name}: `{requirement}` should stop at <{breaking}"


def test_dependencies_are_what_the_code_imports(member: Member) -> None:
    declared = {canonicalize_name(r.name) for r in member.requirements()}
    imported = set()
    for module_dir in member.modules:
        imported |= {distribution_of(m) for m in imported_top_level(module_dir)}
    imported.discard(member.name)
    assert sorted(imported - declared) == [], f"{member.name} imports but does not declare"
    assert sorted(declared - imported) == [], f"{member.name} declares but never imports"


def test_the_import_scan_finds_lazy_imports() -> None:
    """The scan above reads imports inside functions too (pyyaml in dora-message is
    imported only where YAML is read), so a lazily imported module cannot slip past it."""
    message = members()["dora-message"]
    found = set()
    for module_dir in message.modules:
        found |= imported_top_level(module_dir)
    assert {"yaml", "msgspec"} <= found
