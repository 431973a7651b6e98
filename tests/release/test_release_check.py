"""scripts/release-check: its metadata checker and README reader on crafted input, and the
whole check run end to end on the workspace (docs/release-check.md)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from dora_templates import KINDS, LANGUAGES, Variables, render

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from release_check.distributions import providing, workspace_distributions  # noqa: E402
from release_check.metadata import (  # noqa: E402
    check_metadata,
    parse,
    sdist_metadata,
    wheel_metadata,
)
from release_check.readme import instructions  # noqa: E402

COMPLETE = """\
Metadata-Version: 2.4
Name: dora-thing
Version: 0.1.0
Summary: A thing
Project-URL: Source, https://example.org
License-Expression: Apache-2.0
License-File: LICENSE
Classifier: Programming Language :: Python :: 3
Requires-Python: >=3.11
Requires-Dist: dora-message<0.2,>=0.1.0
Requires-Dist: pyarrow>=14
Description-Content-Type: text/markdown

# dora-thing

What it does.
"""


def _without(field: str) -> str:
    return "".join(line for line in COMPLETE.splitlines(True) if not line.startswith(field))


def _wheel(tmp_path: Path, metadata: str, license_file: bool = True) -> Path:
    wheel = tmp_path / "dora_thing-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("dora_thing/__init__.py", "")
        archive.writestr("dora_thing-0.1.0.dist-info/METADATA", metadata)
        if license_file:
            archive.writestr("dora_thing-0.1.0.dist-info/licenses/LICENSE", "Apache")
    return wheel


def _check(text: str, siblings: dict[str, str] | None = None) -> list[str]:
    return check_metadata(
        parse(text), "dora-thing", ("dora-thing", "0.1.0"), siblings or {"dora-message": "0.1.3"}
    )


def test_complete_metadata_passes(tmp_path: Path) -> None:
    meta, problems = wheel_metadata(_wheel(tmp_path, COMPLETE))
    assert problems == []
    assert meta is not None
    assert _check(COMPLETE) == []


@pytest.mark.parametrize(
    ("field", "reported"),
    [
        ("Summary:", "no `Summary`"),
        ("Requires-Python:", "no `Requires-Python`"),
        ("License-Expression:", "no `License-Expression` (or `License`)"),
        ("Project-URL:", "no `Project-URL`"),
        ("Classifier:", "no `Classifier`"),
        ("Description-Content-Type:", "no `Description-Content-Type`"),
    ],
)
def test_each_missing_field_is_reported_with_the_distribution(field: str, reported: str) -> None:
    errors = _check(_without(field))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"dora-thing: {reported}")


def test_an_empty_readme_and_a_wrong_version_are_reported() -> None:
    text = COMPLETE.split("\n\n")[0].replace("Version: 0.1.0", "Version: 0.2.0") + "\n\n"
    errors = _check(text)
    assert "dora-thing: no description (the readme shown on PyPI)" in errors
    assert "dora-thing: Version is `0.2.0`, the pyproject says 0.1.0" in errors


def test_sibling_ranges_need_an_upper_bound_that_admits_the_release() -> None:
    unbounded = COMPLETE.replace("dora-message<0.2,>=0.1.0", "dora-message>=0.1.0")
    assert _check(unbounded) == [
        "dora-thing: `dora-message` has no upper bound (`dora-message>=0.1.0`)"
    ]
    assert _check(COMPLETE, {"dora-message": "0.2.0"}) == [
        "dora-thing: `dora-message<0.2,>=0.1.0` excludes dora-message 0.2.0, released with it"
    ]


def test_a_license_file_missing_from_the_wheel_is_reported(tmp_path: Path) -> None:
    _meta, problems = wheel_metadata(_wheel(tmp_path, COMPLETE, license_file=False))
    assert problems == [
        "dora_thing-0.1.0-py3-none-any.whl: License-File `LICENSE` is not in the wheel"
    ]


def test_an_sdist_without_pkg_info_is_reported(tmp_path: Path) -> None:
    sdist = tmp_path / "dora_thing-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        data = b"[project]\n"
        info = tarfile.TarInfo("dora_thing-0.1.0/pyproject.toml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    assert sdist_metadata(sdist) == (None, ["dora_thing-0.1.0.tar.gz: no PKG-INFO"])


def test_an_sdist_without_its_license_file_or_pyproject_is_reported(tmp_path: Path) -> None:
    sdist = tmp_path / "dora_thing-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        data = COMPLETE.encode()
        info = tarfile.TarInfo("dora_thing-0.1.0/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    meta, problems = sdist_metadata(sdist)
    assert meta is not None and _check(COMPLETE) == []
    assert problems == [
        "dora_thing-0.1.0.tar.gz: License-File `LICENSE` is not in the sdist",
        "dora_thing-0.1.0.tar.gz: no pyproject.toml (it cannot be built)",
    ]


def test_distributions_are_found_from_the_pyproject_files() -> None:
    distributions = workspace_distributions(REPO)
    names = {d.normalized for d in distributions}
    assert {"dora-node-api", "dora-message", "dora-record"} <= names
    cli = providing(distributions, "dora")
    assert (cli.folder / "pyproject.toml").is_file()
    assert cli.normalized not in {"dora-node-api", "dora-message"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_generated_readme_has_instructions_to_run(lang: str, kind: str) -> None:
    variables = Variables(
        "my-project", "my_project", "dora-node-api>=0.1.0,<0.2", "dora-dataflow>=0.1.0,<0.2"
    )
    script = instructions(render(lang, kind, variables)["README.md"])
    assert "dora-dataflow" in script or "uv sync" in script
    assert "--open" not in script  # nothing interactive


@pytest.mark.parametrize("kind", KINDS)
def test_python_readmes_also_give_the_pip_way(kind: str) -> None:
    variables = Variables(
        "my-project", "my_project", "dora-node-api>=0.1.0,<0.2", "dora-dataflow>=0.1.0,<0.2"
    )
    script = instructions(render("python", kind, variables)["README.md"], pip=True)
    assert "pip install -e " in script and '"dora-dataflow>=0.1.0,<0.2"' in script
    assert "uv " not in script
    assert "\npytest\n" in script


def test_a_readme_without_set_up_is_refused() -> None:
    with pytest.raises(ValueError, match="Set up"):
        instructions("# x\n\n## Run\n\n```bash\ndora run dataflow.yml\n```\n")


def _strip_fields(wheel: Path, prefixes: tuple[str, ...]) -> None:
    """Rewrite ``wheel`` with those METADATA fields removed."""
    with zipfile.ZipFile(wheel) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in entries.items():
            if name.endswith(".dist-info/METADATA"):
                lines = data.decode().splitlines(True)
                data = "".join(x for x in lines if not x.startswith(prefixes)).encode()
            archive.writestr(name, data)


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("uv") is None, reason="the release check needs uv")
def test_the_release_check_reports_broken_distributions(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        ["uv", "build", "--all-packages", "-q", "-o", str(dist)],
        cwd=REPO,
        check=True,
        timeout=240,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    first, second = workspace_distributions(REPO)[:2]
    _strip_fields(next(dist.glob(f"{first.file_stem}-*.whl")), ("Classifier:", "Requires-Python:"))
    (dist / f"{second.file_stem}-{second.version}.tar.gz").unlink()
    script = str(REPO / "scripts" / "release-check")
    done = subprocess.run(
        [sys.executable, script, "--wheels", str(dist), "--only", "build", "--only", "metadata"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    errors = done.stderr.splitlines()
    assert f"error: build: no sdist {second.file_stem}-{second.version}.tar.gz" in errors[0]
    assert sum(f"error: metadata: {first.name}: " in line for line in errors) == 2, errors
    assert "no `Classifier`" in done.stderr and "no `Requires-Python`" in done.stderr
    assert errors[-1].startswith("error: release check failed (build, metadata)")
    assert "Traceback" not in done.stderr


@pytest.mark.integration
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("uv") is None, reason="the release check needs uv")
def test_the_release_check_passes() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "release-check")],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        capture_output=True,
        text=True,
        timeout=850,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release check passed" in done.stdout
    print(f"release check: {elapsed:.0f} s")
