"""Twine-style checks of built distributions: what PyPI shows and what resolvers read.

A wheel's ``*.dist-info/METADATA`` and an sdist's ``PKG-INFO`` are parsed as the RFC 822
documents they are (core metadata, https://packaging.python.org/specifications/). Every
problem is one message naming the file; an empty list means the file passes.
"""

from __future__ import annotations

import email.parser
import email.policy
import tarfile
import zipfile
from collections.abc import Mapping
from email.message import Message
from pathlib import Path

from release_check.distributions import normalize

# Fields a page on PyPI needs; a missing one is reported by name.
REQUIRED = ("Metadata-Version", "Name", "Version", "Summary", "Requires-Python")
# Content types PyPI renders (anything else shows as raw text or is refused).
README_TYPES = ("text/markdown", "text/x-rst", "text/plain")


def parse(text: str) -> Message:
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


def check_metadata(
    meta: Message,
    what: str,
    expected: tuple[str, str] | None = None,
    siblings: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems in one metadata document; ``what`` names it in every message.

    ``expected`` is the (name, version) the pyproject declares; ``siblings`` maps each
    workspace distribution (normalized name) to the version being released: a dependency
    on a sibling must have an upper bound and admit that version.
    """
    errors = [f"{what}: no `{field}`" for field in REQUIRED if not (meta.get(field) or "").strip()]
    if expected is not None:
        name, version = expected
        if normalize(meta.get("Name") or "") != normalize(name):
            errors.append(f"{what}: Name is `{meta.get('Name')}`, the pyproject says `{name}`")
        if (meta.get("Version") or "") != version:
            errors.append(
                f"{what}: Version is `{meta.get('Version')}`, the pyproject says {version}"
            )
    description = meta.get_payload() or meta.get("Description") or ""
    if not str(description).strip():
        errors.append(f"{what}: no description (the readme shown on PyPI)")
    content_type = (meta.get("Description-Content-Type") or "").split(";")[0].strip()
    if not content_type:
        errors.append(
            f"{what}: no `Description-Content-Type` (PyPI would guess the readme's format)"
        )
    elif content_type not in README_TYPES:
        errors.append(f"{what}: Description-Content-Type `{content_type}` is not rendered by PyPI")
    if not (meta.get("License-Expression") or meta.get("License")):
        errors.append(f"{what}: no `License-Expression` (or `License`)")
    if not meta.get_all("Project-URL"):
        errors.append(f"{what}: no `Project-URL`")
    if not meta.get_all("Classifier"):
        errors.append(f"{what}: no `Classifier`")
    errors += _sibling_ranges(meta, what, siblings or {})
    return errors


def _sibling_ranges(meta: Message, what: str, siblings: Mapping[str, str]) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    errors: list[str] = []
    for text in meta.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            errors.append(f"{what}: Requires-Dist `{text}` does not parse: {error}")
            continue
        released = siblings.get(normalize(requirement.name))
        if released is None:
            continue
        if not any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier):
            errors.append(f"{what}: `{requirement.name}` has no upper bound (`{text}`)")
        if not requirement.specifier.contains(released, prereleases=True):
            errors.append(
                f"{what}: `{text}` excludes {requirement.name} {released}, released with it"
            )
    return errors


def wheel_metadata(wheel: Path) -> tuple[Message | None, list[str]]:
    """The METADATA of ``wheel``, and problems of the archive itself (license files)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = sorted(
            {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        )
        if len(dist_info) != 1:
            return None, [f"{wheel.name}: {len(dist_info)} .dist-info folders (need one)"]
        try:
            meta = parse(archive.read(f"{dist_info[0]}/METADATA").decode("utf-8"))
        except KeyError:
            return None, [f"{wheel.name}: no {dist_info[0]}/METADATA"]
        missing = [
            license_file
            for license_file in meta.get_all("License-File") or []
            if f"{dist_info[0]}/licenses/{license_file}" not in names
        ]
    return meta, [f"{wheel.name}: License-File `{f}` is not in the wheel" for f in missing]


def sdist_metadata(sdist: Path) -> tuple[Message | None, list[str]]:
    """The PKG-INFO of ``sdist`` (``<name>-<version>/PKG-INFO``), and problems of the
    archive itself (license files, a pyproject.toml to build from)."""
    with tarfile.open(sdist) as archive:
        names = {member.name for member in archive.getmembers()}
        info = next(
            (n for n in sorted(names) if n.count("/") == 1 and n.endswith("/PKG-INFO")), None
        )
        if info is None:
            return None, [f"{sdist.name}: no PKG-INFO"]
        handle = archive.extractfile(info)
        if handle is None:
            return None, [f"{sdist.name}: PKG-INFO is not a file"]
        meta = parse(handle.read().decode("utf-8"))
    root = info.split("/")[0]
    problems = [
        f"{sdist.name}: License-File `{f}` is not in the sdist"
        for f in meta.get_all("License-File") or []
        if f"{root}/{f}" not in names
    ]
    if f"{root}/pyproject.toml" not in names:
        problems.append(f"{sdist.name}: no pyproject.toml (it cannot be built)")
    return meta, problems
