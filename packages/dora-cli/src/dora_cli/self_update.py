"""``dora self update`` / ``dora self uninstall``: the CLI's own installation.

This dora is a set of Python distributions, so updating means asking the package index
for a newer ``dora-dataflow`` (the CLI's distribution) and installing it into the
environment the CLI runs in (with uv when it is there, else pip); uninstalling removes
``dora-dataflow`` from it. The index is the one uv or pip would use (``UV_DEFAULT_INDEX``,
``UV_INDEX_URL``, ``PIP_INDEX_URL``, else PyPI), read through its JSON simple API
(PEP 691). A CLI installed from a source checkout (editable) is updated with git, not here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from dora_cli.error_root import CliError

# Not "dora-cli": that name on PyPI belongs to an unrelated project.
DISTRIBUTION = "dora-dataflow"
DEFAULT_INDEX = "https://pypi.org/simple"
INDEX_TIMEOUT = 10.0


class SelfUpdateError(CliError):
    """The index cannot be read or the installer failed; the message says which."""


def release_key(version: str) -> Version | None:
    """A release as a comparable version (``1.10.0`` > ``1.9.2``, ``1.0`` == ``1.0.0``);
    None for pre-releases, dev releases and what is not a version at all."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    return None if parsed.is_prerelease else parsed


def latest_release(versions: Sequence[str]) -> str | None:
    """The newest final release among ``versions``."""
    releases = [(key, v) for v in versions if (key := release_key(v)) is not None]
    return max(releases)[1] if releases else None


def index_url(environ: Mapping[str, str]) -> str:
    """The index uv or pip would install from."""
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if environ.get(name):
            return environ[name].rstrip("/")
    return DEFAULT_INDEX


def versions_from_page(page: Mapping[str, object]) -> list[str]:
    """Versions of a PEP 691 project page: its ``versions`` (PEP 700), else the files'."""
    listed = page.get("versions")
    if isinstance(listed, list):
        return [str(v) for v in listed]
    versions = []
    for entry in page.get("files") or []:  # type: ignore[union-attr]
        name = str(entry.get("filename", "")) if isinstance(entry, dict) else ""
        try:
            if name.endswith(".whl"):
                versions.append(str(parse_wheel_filename(name)[1]))
            elif name.endswith((".tar.gz", ".zip")):
                versions.append(str(parse_sdist_filename(name)[1]))
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue  # not a distribution file: nothing to learn from it
    return versions


def fetch_versions(index: str, project: str = DISTRIBUTION) -> list[str]:
    """Every version of ``project`` the index offers."""
    request = urllib.request.Request(
        f"{index}/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT) as response:
            page = json.load(response)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise SelfUpdateError(f"`{project}` is not on the package index {index}") from None
        raise SelfUpdateError(f"package index {index}: {err}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise SelfUpdateError(f"cannot read the package index {index}: {err}") from None
    return versions_from_page(page)


@dataclass(frozen=True)
class Installation:
    """Where and how ``dora-dataflow`` is installed."""

    version: str
    python: str  # the interpreter of its environment
    source_checkout: str | None  # the folder of an editable install


def installation(python: str = sys.executable) -> Installation:
    """This CLI's installation."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise SelfUpdateError(f"`{DISTRIBUTION}` is not installed as a package") from None
    checkout = None
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        if info.get("dir_info", {}).get("editable"):
            checkout = str(info.get("url", "")).removeprefix("file://")
    return Installation(dist.version, python, checkout)


def installer_commands(python: str, action: Sequence[str]) -> list[list[str]]:
    """How to run ``install ...`` / ``uninstall ...`` for the environment of ``python``:
    uv first (it needs no pip in the environment), then that Python's own pip."""
    commands = []
    uv = shutil.which("uv")
    if uv is not None:
        commands.append([uv, "pip", action[0], "--python", python, *action[1:]])
    pip_action = [*action, "-y"] if action[0] == "uninstall" else list(action)
    commands.append([python, "-m", "pip", *pip_action])
    return commands


def run_installer(python: str, action: Sequence[str]) -> str:
    """Run the first installer that works; its output, or SelfUpdateError naming what
    each one said."""
    failures = []
    for command in installer_commands(python, action):
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as err:
            failures.append(f"{command[0]}: {err}")
            continue
        if done.returncode == 0:
            return done.stdout + done.stderr
        said = (done.stderr or done.stdout).strip().splitlines()
        failures.append(f"`{' '.join(command[:3])} ...` failed: {' '.join(said[-3:])}")
    raise SelfUpdateError("; ".join(failures) or "no installer found (neither uv nor pip)")


def update(python: str, version: str, index: str) -> str:
    """Install ``dora-dataflow==version`` from ``index`` into the environment of ``python``."""
    env_index = ["--index-url", index]
    return run_installer(python, ["install", *env_index, f"{DISTRIBUTION}=={version}"])


def uninstall(python: str) -> str:
    """Remove ``dora-dataflow`` from the environment of ``python``."""
    return run_installer(python, ["uninstall", DISTRIBUTION])
