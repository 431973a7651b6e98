"""CLI start-up: how long ``dora … --help`` takes beside a bare ``python -c pass``.

Times, as the median of ``--reps`` runs each (a new process every run, output discarded):

* the floor: ``python -c pass`` with the interpreter of the ``dora`` console script;
* ``python -c "import click"``, for reference: what any click CLI pays before its own code
  (the rows are still measured against the floor, not against this);
* ``dora --help``, ``dora list --help``, ``dora run --help``;
* every other command and subcommand's ``--help`` (fewer runs each, ``--scan-reps``) to find
  the slowest, which is then timed like the others.

Each row gives the median wall-clock time, the best (fastest) one and the median CPU time
(user + system), each also as ours / floor; the target (issue 15) is at most 4x, judged
on the median wall time.

By default the ``dora`` of this checkout's venv is timed: an editable install, whose
``.pth`` files put the workspace's source folders on ``sys.path``; processing them costs
every interpreter of that venv, the floor too, about 1 ms, which flatters the ratios.
``--installed`` times what a user's install costs instead: the wheels of the packages
``--help`` imports (``dora-dataflow``, ``dora-message``, ``dora-daemon``,
``dora-coordinator``, built with ``uv build``) and click, installed with compiled
bytecode into a temporary venv of the same Python, without the other dependencies
(``--help`` imports none of them: tests/cli/test_help_imports.py checks it); its
``python`` is the floor. With ``--write`` the
"CLI start-up" section of ``bench/RESULTS.md`` is replaced (or appended): date, host,
command line and the table. The machine is shared, so timings are noisy: runs of the
figures alternate (floor, a, b, …, floor, a, b, …) so that a busy moment hits all of them.

    .venv/bin/python bench/cli_startup.py                # print the table
    .venv/bin/python bench/cli_startup.py --installed    # the same, for a wheel install
    .venv/bin/python bench/cli_startup.py --reps 30 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
#: The workspace folders whose packages ``dora … --help`` imports (--installed builds them).
HELP_PACKAGES = ("dora-cli", "dora-message", "dora-daemon", "dora-coordinator")
SECTION = "## CLI start-up"
TARGET_RATIO = 4.0
FIXED = (("--help",), ("list", "--help"), ("run", "--help"))
CLICK = 'python -c "import click"'
# As installed: bytecode is cached (the warm-up run writes any stale .pyc), so a source
# edit or PYTHONDONTWRITEBYTECODE in the caller's environment doesn't time the compiler.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def dora_executable() -> Path:
    """The ``dora`` console script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("dora")
    if beside.exists():
        return beside
    found = shutil.which("dora")
    if found is None:
        sys.exit("error: no `dora` console script beside the interpreter or on PATH")
    return Path(found)


def install_wheels(venv: Path) -> Path:
    """Build the wheels of :data:`HELP_PACKAGES` and install them with this click into a
    new venv at ``venv`` (compiled bytecode, no other dependencies); its ``dora`` script."""
    from importlib.metadata import version

    wheels = venv.with_name("wheels")
    for folder in HELP_PACKAGES:
        _uv(
            "build", "--wheel", "--quiet", "--out-dir", str(wheels), str(ROOT / "packages" / folder)
        )
    _uv("venv", "--quiet", "--python", sys.executable, str(venv))
    _uv(
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--compile-bytecode",
        "--python",
        str(venv / "bin" / "python"),
        f"click=={version('click')}",
        *sorted(str(w) for w in wheels.glob("*.whl")),
    )
    return venv / "bin" / "dora"


def _uv(*args: str) -> None:
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("error: --installed needs `uv` on PATH")
    subprocess.run([uv, *args], check=True, env={**ENV, "UV_PYTHON_DOWNLOADS": "never"})


def interpreter_of(script: Path) -> str:
    """The interpreter named in the script's ``#!`` line (so the floor uses the same one)."""
    first = script.read_bytes().split(b"\n", 1)[0].decode()
    return first[2:].strip() if first.startswith("#!") else sys.executable


class Timing(NamedTuple):
    """One run, in seconds: wall-clock time and the CPU time (user + system) it used."""

    wall: float
    cpu: float


class Figure(NamedTuple):
    """A command's runs summed up, in seconds: medians, and the fastest wall time."""

    wall: float
    cpu: float
    best: float


def time_once(argv: Sequence[str]) -> Timing:
    """Wall and CPU time of one run of ``argv`` (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def medians(commands: dict[str, list[str]], reps: int) -> dict[str, Figure]:
    """Median wall and CPU time (and best wall time) of each command over ``reps``
    interleaved rounds."""
    samples: dict[str, list[Timing]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up: page cache, .pyc files
        time_once(argv)
    for _ in range(reps):
        for name, argv in commands.items():
            samples[name].append(time_once(argv))
    return {
        name: Figure(
            statistics.median(t.wall for t in values),
            statistics.median(t.cpu for t in values),
            min(t.wall for t in values),
        )
        for name, values in samples.items()
    }


def measure(
    dora_script: Path, reps: int, scan_reps: int
) -> tuple[Figure, list[tuple[str, Figure]], dict[str, Figure]]:
    """The floor, the rows ``(label, figure)`` and the scan of every command."""
    from dora_cli.main import command_paths

    dora = str(dora_script)
    python = interpreter_of(dora_script)
    every = {
        " ".join(("dora", *path, "--help")): [dora, *path, "--help"] for path in command_paths()
    }
    scanned = medians(every, scan_reps)
    fixed = {" ".join(("dora", *args)): [dora, *args] for args in FIXED}
    # CPU time picks the slowest: on a busy machine it varies less than wall time
    slowest = max(scanned, key=lambda name: scanned[name].cpu)
    timed = medians(
        {
            "python -c pass": [python, "-c", "pass"],
            CLICK: [python, "-c", "import click"],
            **fixed,
            slowest: every[slowest],
        },
        reps,
    )
    floor = timed.pop("python -c pass")
    rows = [
        (f"{name} (slowest of all)" if name == slowest else name, t) for name, t in timed.items()
    ]
    return floor, rows, scanned


def table(floor: Figure, rows: list[tuple[str, Figure]]) -> list[str]:
    """Markdown table lines: figure, times with their ratio to the floor, target, status."""
    target = f"<= {TARGET_RATIO:g}x"
    lines = [
        "| figure | wall, median | / floor | wall, best | / floor | CPU, median | / floor "
        "| target | status |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| `python -c pass` (floor) | {_ms(floor.wall)} | 1.00x | {_ms(floor.best)} | 1.00x "
        f"| {_ms(floor.cpu)} | 1.00x | - | floor |",
    ]
    for name, f in rows:
        wall = f.wall / floor.wall
        reference = name == CLICK
        status = "reference" if reference else "met" if wall <= TARGET_RATIO else "NOT met"
        cells = [
            f"`{name}`",
            _ms(f.wall),
            f"{wall:.2f}x",
            _ms(f.best),
            f"{f.best / floor.best:.2f}x",
            _ms(f.cpu),
            f"{f.cpu / floor.cpu:.2f}x",
            "-" if reference else target,
            status,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def own_share(rows: list[tuple[str, Figure]]) -> str:
    """Each row's median wall time minus ``import click``'s: what dora adds to click."""
    click_alone = dict(rows)[CLICK].wall
    shares = [
        f"`{name.removesuffix(' (slowest of all)')}` {(f.wall - click_alone) * 1000:+.1f} ms"
        for name, f in rows
        if name != CLICK
    ]
    return (
        'dora\'s own share (median wall time minus `python -c "import click"`; it can be '
        "negative: a dora run that only printed skips the interpreter's shutdown, which the bare "
        "import pays): " + ", ".join(shares)
    )


def scan_summary(scanned: dict[str, Figure], scan_reps: int) -> str:
    """The range the scan of every command found (median CPU time)."""
    ordered = sorted(scanned, key=lambda name: scanned[name].cpu)
    first, last = ordered[0], ordered[-1]
    return (
        f"scan of all {len(scanned)} commands' `--help` ({scan_reps} runs each, median CPU "
        f"time): from {_ms(scanned[first].cpu)} (`{first}`) to {_ms(scanned[last].cpu)} "
        f"(`{last}`)"
    )


def section(lines: list[str], notes: list[str], reps: int, scanned: int, installed: bool) -> str:
    """The RESULTS.md section for this run."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    return "\n".join(
        [
            SECTION,
            "",
            f"- date: {now}",
            f"- host: `{_host()}` ({_cores()} cores, shared and noisy)",
            f"- Python: {platform.python_version()}",
            f"- command: `{command}`",
            "- timed: "
            + (
                "a wheel install in a temporary venv (`--installed`)"
                if installed
                else "this checkout's venv (editable install: its `.pth` files cost the "
                "floor too, ~1 ms; `--installed` times a wheel install)"
            ),
            f"- median of {reps} interleaved runs per figure; the slowest of all {scanned} "
            "`--help` commands was picked by a shorter scan first (by CPU time)",
            "- status: the median wall-clock ratio against the target; the best (fastest) "
            "run and the CPU time (user + system) are given beside it because they vary less "
            "on a busy machine",
            "",
            *lines,
            "",
            *(f"- {note}" for note in notes),
            "",
        ]
    )


def _host() -> str:
    return " ".join(part for part in platform.uname() if part)


def _cores() -> int:
    return os.cpu_count() or 0


def write_section(text: str) -> None:
    """Replace the CLI start-up section of RESULTS.md (up to the next ``## ``), or append it."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    start = old.find(f"\n{SECTION}\n")
    if start < 0:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = old.find("\n## ", start + 1)
    tail = old[end + 1 :] if end >= 0 else ""
    RESULTS.write_text(old[: start + 1] + text + ("\n" + tail if tail else ""), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="runs per figure (median)")
    parser.add_argument("--scan-reps", type=int, default=3, help="runs per command in the scan")
    parser.add_argument(
        "--installed", action="store_true", help="time a wheel install in a temporary venv"
    )
    parser.add_argument("--write", action="store_true", help=f"write the section into {RESULTS}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dora-cli-startup-") as tmp:
        dora = install_wheels(Path(tmp) / "venv") if args.installed else dora_executable()
        floor, rows, scanned = measure(dora, args.reps, args.scan_reps)
    lines = table(floor, rows)
    notes = [own_share(rows), scan_summary(scanned, args.scan_reps)]
    print("\n".join([*lines, *notes]))
    if args.write:
        write_section(section(lines, notes, args.reps, len(scanned), args.installed))
        print(f"wrote the `{SECTION[3:]}` section of {RESULTS}")


if __name__ == "__main__":
    main()
