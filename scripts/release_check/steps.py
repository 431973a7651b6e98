"""The checks, one function each; every one raises :class:`CheckFailed` with the reason.

They share venvs through the :class:`Context`: the CLI venv is made once by installing
the distribution that provides `dora` (which pulls the others it needs) and serves
every step that runs `dora`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from release_check.context import CheckFailed, Context
from release_check.metadata import check_metadata, sdist_metadata, wheel_metadata
from release_check.readme import instructions

EXAMPLE = Path("examples") / "python-dataflow"
NODE_VENV_PROJECT = Path("tests") / "release" / "node_venv_project"
# (lang, kind) pairs `dora new` is checked with: every language, both kinds
NEW_PROJECTS = [(lang, kind) for lang in ("python", "c", "cxx") for kind in ("dataflow", "node")]


def built_files(ctx: Context) -> None:
    """A wheel and an sdist for every workspace distribution."""
    missing = []
    for dist in ctx.distributions:
        stem = f"{dist.file_stem}-{dist.version}"
        if not list(ctx.dist.glob(f"{stem}-*.whl")):
            missing.append(f"no wheel {stem}-*.whl for {dist.name}")
        if not (ctx.dist / f"{stem}.tar.gz").is_file():
            missing.append(f"no sdist {stem}.tar.gz for {dist.name}")
    if missing:
        raise CheckFailed("; ".join(missing))


def metadata(ctx: Context) -> None:
    """Twine-style metadata of every wheel and sdist (see release_check.metadata)."""
    siblings = {d.normalized: d.version for d in ctx.distributions}
    errors: list[str] = []
    for dist in ctx.distributions:
        stem = f"{dist.file_stem}-{dist.version}"
        files = [*ctx.dist.glob(f"{stem}-*.whl"), ctx.dist / f"{stem}.tar.gz"]
        for file in files:
            if not file.is_file():
                continue  # reported by the build step
            read = wheel_metadata if file.suffix == ".whl" else sdist_metadata
            meta, problems = read(file)
            errors += [f"{dist.name}: {p}" for p in problems]
            if meta is not None:
                what = f"{dist.name}: {file.name}"
                errors += check_metadata(meta, what, (dist.name, dist.version), siblings)
    if errors:
        raise CheckFailed("\n".join(errors))


def cli_venv(ctx: Context) -> Path:
    return ctx.venv("cli", [ctx.cli.name])


def installed_outside(ctx: Context) -> None:
    """The CLI venv runs our code from its site-packages, never from the workspace."""
    venv = cli_venv(ctx)
    script = "import json, sys, dora, dora_cli; print(json.dumps([dora.__file__, sys.path]))"
    output = ctx.run(
        [str(venv / "bin" / "python"), "-c", script],
        cwd=ctx.temp,
        what="import dora in the CLI venv",
    )
    dora_file, sys_path = json.loads(output.strip().splitlines()[-1])
    if not Path(dora_file).is_relative_to(venv):
        raise CheckFailed(f"`dora` is imported from {dora_file}, not from the venv {venv}")
    leaks = [p for p in sys_path if p and Path(p).resolve().is_relative_to(ctx.repo.resolve())]
    if leaks:
        raise CheckFailed(f"the CLI venv's sys.path holds workspace folders: {leaks}")
    for name, place in ctx.installed(venv).items():
        if not Path(place).resolve().is_relative_to(venv.resolve()):
            raise CheckFailed(f"{name} is installed from {place}, outside the venv")


def help_works(ctx: Context) -> None:
    """`dora --help` of the installed CLI."""
    output = ctx.run(["dora", "--help"], cwd=ctx.temp, what="dora --help", venv=cli_venv(ctx))
    if "Usage:" not in output:
        raise CheckFailed(f"dora --help printed no usage:\n{output}")


def example(ctx: Context) -> None:
    """The Python example dataflow runs to its end with the installed CLI."""
    where = _copy(ctx, ctx.repo / EXAMPLE, "example")
    output = ctx.run(
        ["dora", "run", "dataflow.yml", "--stop-after", "60s"],
        cwd=where,
        what=f"dora run {EXAMPLE}/dataflow.yml",
        venv=cli_venv(ctx),
    )
    if "got 20 squares in order" not in output:
        raise CheckFailed(f"the example's receiver did not get its 20 squares:\n{output}")


def new_projects(ctx: Context) -> None:
    """`dora new` for every language and kind, then the project's README instructions."""
    _new_projects(ctx, NEW_PROJECTS, pip=False)


def new_projects_pip(ctx: Context) -> None:
    """The Python projects of `dora new` set up the pip way their README gives."""
    _new_projects(ctx, [(lang, kind) for lang, kind in NEW_PROJECTS if lang == "python"], pip=True)


def _new_projects(ctx: Context, projects: list[tuple[str, str]], pip: bool) -> None:
    failures = []
    for lang, kind in projects:
        what = f"dora new --lang {lang} --kind {kind}" + (" (pip)" if pip else "")
        started = time.monotonic()
        parent = ctx.temp / ("new-pip" if pip else "new") / f"{lang}-{kind}"
        parent.mkdir(parents=True, exist_ok=True)
        try:
            ctx.run(
                ["dora", "new", "my-project", "--lang", lang, "--kind", kind],
                cwd=parent,
                what=what,
                venv=cli_venv(ctx),
            )
            project = parent / "my-project"
            try:
                readme = (project / "README.md").read_text(encoding="utf-8")
                script = instructions(readme, pip=pip)
            except (OSError, ValueError) as error:
                raise CheckFailed(f"{what}: README.md: {error}") from None
            # run as a user with only the CLI's venv on PATH; the README makes its own
            ctx.shell(
                script, cwd=project, what=f"{what}: the README's instructions", venv=cli_venv(ctx)
            )
        except CheckFailed as failure:
            failures.append(str(failure))
            continue
        print(f"  ok {what} ({time.monotonic() - started:.1f} s)", flush=True)
    if failures:
        raise CheckFailed("\n".join(failures))


def record_replay(ctx: Context) -> None:
    """`dora record` then `dora replay` of the example, in the CLI venv, which holds the
    CLI, dora-record, the node API and their dependencies and nothing else of ours."""
    venv = cli_venv(ctx)
    installed = ctx.installed(venv)
    needed = {"dora-record", "dora-node-api", ctx.cli.normalized}
    if not needed <= set(installed):
        raise CheckFailed(f"the CLI venv lacks {sorted(needed - set(installed))}")
    where = _copy(ctx, ctx.repo / EXAMPLE, "record")
    ctx.run(
        ["dora", "record", "dataflow.yml", "-o", "run.adorec", "--stop-after", "60s"],
        cwd=where,
        what="dora record",
        venv=venv,
    )
    if not (where / "run.adorec").is_file():
        raise CheckFailed("dora record wrote no run.adorec")
    output = ctx.run(
        [
            "dora",
            "replay",
            "run.adorec",
            "--dataflow",
            "dataflow.yml",
            "--replace",
            "sender",
            "--stop-after",
            "60s",
        ],
        cwd=where,
        what="dora replay",
        venv=venv,
    )
    # the live sender would print its own total; replayed, the receiver still gets all 20
    if "sender: sent" in output or "got 20 squares in order" not in output:
        raise CheckFailed(f"dora replay did not feed the receiver the recorded sender:\n{output}")


def node_venvs(ctx: Context) -> None:
    """One dataflow whose two nodes live in two venvs holding only the node API (+ what
    the node needs): one through `<venv>/bin/python` + args, one through an entry point
    on the node's PATH. The daemon runs from the CLI venv."""
    project = _copy(ctx, ctx.repo / NODE_VENV_PROJECT, "node-venvs")
    sender = ctx.venv("node-sender", ["dora-node-api"])
    receiver = ctx.venv("node-receiver", ["dora-node-api", str(project)])
    for venv in (sender, receiver):
        extra = set(ctx.installed(venv)) - {"dora-node-api", "dora-message"}
        if extra:
            raise CheckFailed(f"node venv {venv.name} holds more than the node API: {extra}")
    (project / "dataflow.yml").write_text(node_venv_dataflow(sender, receiver), encoding="utf-8")
    output = ctx.run(
        ["dora", "run", "dataflow.yml", "--stop-after", "60s"],
        cwd=project,
        what="dora run (nodes in their own venvs)",
        venv=cli_venv(ctx),
    )
    for expected in node_venv_expected(sender, receiver):
        if expected not in output:
            raise CheckFailed(f"the node-venv dataflow did not print `{expected}`:\n{output}")


def node_venv_dataflow(sender: Path, receiver: Path) -> str:
    """The dataflow of NODE_VENV_PROJECT with its nodes in the venvs ``sender`` and
    ``receiver`` (also run by tests/release/test_node_venvs.py): the sender through its
    venv's ``bin/python`` + a script, the receiver through an entry point on its PATH."""
    return f"""nodes:
  - id: sender
    path: {sender}/bin/python
    args: sender.py
    inputs:
      tick: dora/timer/millis/50
    outputs: [numbers]
  - id: receiver
    path: venv-receiver
    env:
      PATH: {receiver}/bin:/usr/bin:/bin
    inputs:
      numbers: sender/numbers
"""


def node_venv_expected(sender: Path, receiver: Path) -> tuple[str, str]:
    """What the two nodes of :func:`node_venv_dataflow` print when each ran in its venv."""
    return (
        f"venv-sender: sent 5 using {sender}/lib/",
        f"venv-receiver: got [0, 1, 2, 3, 4] using {receiver}/lib/",
    )


def _copy(ctx: Context, source: Path, name: str) -> Path:
    target = ctx.temp / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return target


# name -> (what it checks, function); run in this order
STEPS: dict[str, tuple[str, Callable[[Context], None]]] = {
    "build": ("a wheel and an sdist per distribution", built_files),
    "metadata": ("wheel and sdist metadata (twine-style)", metadata),
    "install": ("the CLI installs from the wheels, outside the workspace", installed_outside),
    "help": ("dora --help", help_works),
    "example": ("the example dataflow runs", example),
    "new": ("dora new projects follow their own README", new_projects),
    "record": ("dora record + dora replay", record_replay),
    "node-venvs": ("nodes in their own venvs", node_venvs),
    "pip": (
        "dora new Python projects set up with pip (slow; only with --only pip)",
        new_projects_pip,
    ),
}
# Steps left out unless asked for by --only.
OPTIONAL_STEPS = frozenset({"pip"})
