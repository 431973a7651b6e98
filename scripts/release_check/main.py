"""Command line of the release check: build (or reuse) the distributions, run the steps."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from release_check.context import CheckFailed, Context, base_python
from release_check.distributions import providing, workspace_distributions
from release_check.steps import OPTIONAL_STEPS, STEPS

REPO = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="release-check",
        description="Build every wheel and sdist of the workspace, check their metadata, "
        "install them in fresh venvs outside the workspace and use them as a new user would.",
        epilog="steps: " + "; ".join(f"{name}: {what}" for name, (what, _) in STEPS.items()),
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    parser.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="use the wheels and sdists in DIR instead of building them",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(STEPS),
        metavar="STEP",
        help="run only this step (repeatable; the venvs it needs are made)",
    )
    parser.add_argument(
        "--python",
        default=base_python(),
        help="interpreter the venvs are made from (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show each command")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("uv") is None:
        print("error: the release check needs `uv` on PATH", file=sys.stderr)
        return 2
    distributions = workspace_distributions(REPO)
    try:
        cli = providing(distributions, "dora")
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    temp = Path(tempfile.mkdtemp(prefix="dora-release-check-"))
    started = time.monotonic()
    try:
        dist = _distributions(args.wheels, temp)
        ctx = Context(
            repo=REPO,
            temp=temp,
            dist=dist,
            python=args.python,
            distributions=distributions,
            cli=cli,
            uv_cache=_uv_cache(),
            verbose=args.verbose,
        )
        failed = _run_steps(ctx, args.only or [s for s in STEPS if s not in OPTIONAL_STEPS])
    except CheckFailed as failure:
        print(f"error: {failure}", file=sys.stderr)
        failed = ["build"]
    finally:
        if args.keep:
            print(f"kept {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
    total = time.monotonic() - started
    if failed:
        print(
            f"error: release check failed ({', '.join(failed)}) in {total:.0f} s", file=sys.stderr
        )
        return 1
    print(f"release check passed in {total:.0f} s")
    return 0


def _run_steps(ctx: Context, names: list[str]) -> list[str]:
    failed = []
    for name in [n for n in STEPS if n in names]:
        what, check = STEPS[name]
        started = time.monotonic()
        print(f"== {name}: {what}", flush=True)
        try:
            check(ctx)
        except CheckFailed as failure:
            failed.append(name)
            for line in str(failure).splitlines() or [""]:
                prefix = "error:" if not line.startswith("    |") else ""
                print(f"{prefix} {name}: {line}" if prefix else line, file=sys.stderr)
            continue
        print(f"ok {name} ({time.monotonic() - started:.1f} s)", flush=True)
    return failed


def _distributions(wheels: Path | None, temp: Path) -> Path:
    """The folder with every wheel and sdist: ``wheels`` as given, or a fresh build."""
    if wheels is not None:
        if not wheels.is_dir():
            raise CheckFailed(f"--wheels {wheels}: not a directory")
        return wheels.resolve()
    out = temp / "dist"
    print(f"== building every wheel and sdist into {out}", flush=True)
    # `uv build` makes the sdist, then the wheel from it: a broken sdist fails here
    done = subprocess.run(
        ["uv", "build", "--all-packages", "-q", "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=None,
    )
    if done.returncode != 0:
        raise CheckFailed(f"uv build --all-packages failed:\n{done.stdout}{done.stderr}")
    return out


def _uv_cache() -> str:
    """The user's uv cache: venvs install from it instead of downloading again."""
    done = subprocess.run(["uv", "cache", "dir"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or str(Path.home() / ".cache" / "uv")
