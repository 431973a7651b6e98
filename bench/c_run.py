"""The C rows: C sender -> C receiver through our `dora run`, beside a bare C exchange.

    uv run python bench/c_run.py [--quick] [--reps N] [--markdown PATH] [--keep]

Compiles ``bench/c`` (the dora programs with ``dora_node_api_c``'s flags), then runs, per
repetition and in turn: the latency plan through dora, the same plan bare (4 MB through a
memfd), the same plan bare with 4 MB by plain socket writes, the 8 B burst through dora,
the burst bare. Figures are medians over repetitions. See bench/README.md ("C nodes").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from c_build import CBuildError, build
from c_report import build_rows, render_markdown, render_text
from c_rows import (
    FULL,
    QUICK,
    Lists,
    Outcome,
    burst_figures,
    burst_lists,
    dora_spec,
    latency_figures,
    latency_lists,
    run_bare,
    run_dora,
)
from peer import ours_system
from scenarios import Measured


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, 1 repetition")
    parser.add_argument("--reps", type=int, help="repetitions (default 3, 1 with --quick)")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write markdown")
    parser.add_argument("--ours-cli", type=Path, help="our dora CLI (default: .venv/bin/dora)")
    parser.add_argument("--keep", action="store_true", help="keep the dora run directories")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


# per repetition, in turn: (system, plan, how the bare pair passes 4 MB)
STEPS = (
    ("dora", "latency", None),
    ("bare", "latency", "shm"),
    ("bare", "latency", "socket"),
    ("dora", "burst", None),
    ("bare", "burst", "shm"),
)


def measure(args: argparse.Namespace, build_dir: Path) -> dict[str, dict[str, list[Measured]]]:
    """Every repetition's figures, per system ("dora", "bare")."""
    programs = build(build_dir)
    plan = QUICK if args.quick else FULL
    system = ours_system(args.ours_cli)
    plans = {"latency": latency_lists(plan), "burst": burst_lists(plan)}
    measured: dict[str, dict[str, list[Measured]]] = {"dora": {}, "bare": {}}
    for rep in range(1, args.reps + 1):
        for who, what, large in STEPS:
            lists = plans[what]
            started = time.monotonic()
            if who == "dora":
                outcome = run_dora(system, dora_spec(f"c_{what}", programs, lists), args.keep)
            else:
                outcome = run_bare(programs.bare, lists, large or "shm")
            label = f"{who} {what}" + (f" (4 MB by {large})" if large else "")
            took = time.monotonic() - started
            status = outcome.error or "ok"
            print(f"[c rep {rep}/{args.reps}] {label}: {took:.1f} s {status}", file=sys.stderr)
            for key, value in step_figures(who, what, large, outcome, lists).items():
                measured[who].setdefault(key, []).append(value)
    return measured


def step_figures(
    who: str, what: str, large: str | None, outcome: Outcome, lists: Lists
) -> dict[str, Measured]:
    """The figures one step yields. The socket row sets dora's 4 MB p50 against the bare
    pair's plain-socket run; that run's other figures are not reported."""
    if what == "burst":
        return burst_figures(outcome, lists)
    if large == "socket":
        socket = latency_figures(outcome, lists, suffix="_socket")
        return {"c_lat_p50_4MB_socket": socket["c_lat_p50_4MB_socket"]}
    figures = latency_figures(outcome, lists)
    if who == "dora":
        figures["c_lat_p50_4MB_socket"] = figures["c_lat_p50_4MB"]
    return figures


def command_line() -> list[str]:
    return ["uv", "run", "python", *sys.argv]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dora-c-bench-") as tmp:
        try:
            measured = measure(args, Path(tmp))
        except CBuildError as error:
            print(f"c_run: {error}", file=sys.stderr)
            return 1
    rows = build_rows(measured)
    settings = (
        f"{'quick' if args.quick else 'full'}, {args.reps} repetition(s), "
        f"{time.monotonic() - started:.0f} s total"
    )
    print(render_text(rows))
    print(f"\n({settings})")
    if args.markdown:
        args.markdown.write_text(render_markdown(rows, measured, command_line(), settings))
        print(f"markdown report written to {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
