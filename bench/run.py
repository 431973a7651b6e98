"""Benchmark entry point: our `dora run` against dora-rs 1.1.0 with the same node scripts.

    uv run python bench/run.py [--quick] [--only SCENARIO] [--reps N] [--markdown PATH]

Runs alternate between the systems run by run (ours, peer, ours, peer, ...); each figure is
the median over repetitions. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from floor import SmallFloor
from floor_report import build_floor_lines, render_floor_markdown, render_floor_text
from floored import FlooredScenario, FloorRow
from netns import build_netns_scenario
from peer import System, ours_system, peer_system
from report import Failure, build_report, render_markdown, render_text
from runner import RunResult, run_flow
from scale import SCALE_NAMES, build_scale_scenarios
from scenarios import SCENARIO_NAMES, FigureDef, Measured, Scenario, build_scenarios

# scenarios measured beside a floor of bare processes (floor.py, scale.py, netns.py)
FLOORED_NAMES = ("floor", *SCALE_NAMES, "netns")
ALL_NAMES = (*SCENARIO_NAMES, *FLOORED_NAMES)

QUICK_ALLOWANCE_S = 8.0
FULL_ALLOWANCE_S = 20.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer sizes and messages, 1 repetition: under a minute",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=ALL_NAMES,
        metavar="SCENARIO",
        help=f"run only this scenario (repeatable): {', '.join(ALL_NAMES)}",
    )
    parser.add_argument(
        "--chain", type=int, metavar="N", help="nodes in the chain scenario (100; quick 10)"
    )
    parser.add_argument(
        "--fan", type=int, default=20, metavar="N", help="width of fanout20/fanin20 (20)"
    )
    parser.add_argument(
        "--scale-timeout",
        type=float,
        metavar="S",
        help="start-up limit of the chain/fanout20/fanin20 runs and the chain's floor, "
        "in seconds (90; quick 30)",
    )
    parser.add_argument("--reps", type=int, help="repetitions (default 3, 1 with --quick)")
    parser.add_argument(
        "--markdown", type=Path, metavar="PATH", help="also write the report as markdown to PATH"
    )
    parser.add_argument(
        "--systems", default="ours,peer", help="comma list of systems to run (default: ours,peer)"
    )
    parser.add_argument("--ours-cli", type=Path, help="our dora CLI (default: .venv/bin/dora)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    if args.chain is not None and args.chain < 2:
        parser.error("--chain must be at least 2 (a source and a sink)")
    if args.fan < 1:
        parser.error("--fan must be at least 1")
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not args.systems or any(s not in ("ours", "peer") for s in args.systems):
        parser.error("--systems takes 'ours', 'peer' or both")
    return args


def make_systems(names: list[str], ours_cli: Path | None) -> list[System]:
    return [ours_system(ours_cli) if n == "ours" else peer_system() for n in names]


def run_scenario(
    scenario: Scenario,
    systems: list[System],
    reps: int,
    allowance_s: float,
    keep: bool,
    measured: dict[str, dict[str, list[Measured]]],
    failures: list[Failure],
    shm_log: dict[str, list[list[str]]],
    floors: dict[str, list[Measured]],
) -> None:
    """Run every repetition, alternating systems run by run; collect figures and failures.

    A floored scenario also measures its floor once per repetition, into ``floors``.
    """
    # a run that failed is not repeated in later repetitions (it would likely fail or hang
    # again); its failure stands in for it, so every repetition still counts it as bad
    failed: dict[tuple[str, str], RunResult] = {}
    specs = scenario.runs()
    floored = scenario if isinstance(scenario, FlooredScenario) else None
    run_one = floored.run_one if floored else run_flow
    for rep in range(1, reps + 1):
        if floored is not None:
            for key, value in floored.measure_floor().items():
                floors.setdefault(key, []).append(value)
            _floor_progress(scenario, rep, reps, floors)
        runs: dict[str, dict[str, RunResult]] = {s.name: {} for s in systems}
        for spec in specs:
            for system in systems:
                earlier = failed.get((system.name, spec.key))
                if earlier is not None:
                    runs[system.name][spec.key] = earlier
                    continue
                result = run_one(system, spec, keep=keep, allowance_s=allowance_s)
                runs[system.name][spec.key] = result
                shm_log.setdefault(system.name, []).append(result.shm_left)
                _progress(scenario, rep, reps, system, spec.key, result, keep)
                if not result.ok:
                    failed[(system.name, spec.key)] = result
                    failures.append(
                        Failure(
                            system.name,
                            scenario.name,
                            spec.key,
                            rep,
                            result.error or "",
                            result.log_tail,
                        )
                    )
        for system in systems:
            per_fig = measured.setdefault(system.name, {})
            for key, value in scenario.measure(runs[system.name]).items():
                per_fig.setdefault(key, []).append(value)


def _progress(
    scenario: Scenario, rep: int, reps: int, system: System, key: str, result: RunResult, keep: bool
) -> None:
    status = "ok" if result.ok else f"FAILED: {result.error}"
    if keep:
        status += f" ({result.run_dir})"
    print(
        f"[{scenario.name} rep {rep}/{reps}] {system.name:4} {key}: {result.wall_s:.1f} s {status}",
        file=sys.stderr,
        flush=True,
    )


def _floor_progress(
    scenario: Scenario, rep: int, reps: int, floors: dict[str, list[Measured]]
) -> None:
    assert isinstance(scenario, FlooredScenario)
    parts = []
    for row in scenario.floor_rows():
        latest = floors.get(row.floor.key, [])[-1:]
        if latest:
            value = latest[0].value
            parts.append(f"{row.floor.key}={value:.1f}" if value is not None else row.floor.key)
    text = ", ".join(dict.fromkeys(parts))
    print(f"[{scenario.name} rep {rep}/{reps}] floor: {text}", file=sys.stderr, flush=True)


def shm_remarks(shm_log: dict[str, list[list[str]]]) -> list[str]:
    """One line per system that left /dev/shm files behind after some runs."""
    remarks = []
    for system, runs in shm_log.items():
        leaky = [names for names in runs if names]
        if leaky:
            example = ", ".join(leaky[0][:3])
            remarks.append(
                f"{system} left /dev/shm files after {len(leaky)} of {len(runs)} runs "
                f"(removed by the harness once unused), e.g. {example}"
            )
    return remarks


def command_line() -> list[str]:
    """How this benchmark was invoked, as exactly as the process can tell."""
    prefix = ["uv", "run"] if os.environ.get("UV") else []
    return [*prefix, "python", *sys.argv]


def every_scenario(
    quick: bool, chain: int | None, fan: int, scale_timeout: float | None
) -> list[Scenario]:
    """Every scenario of a run, in run order (``--only`` picks among them)."""
    return [
        *build_scenarios(quick),
        SmallFloor(count=20 if quick else 100, warmup=2 if quick else 5),
        *build_scale_scenarios(quick, chain, fan, scale_timeout),
        build_netns_scenario(quick),
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    systems = make_systems(args.systems, args.ours_cli)
    every = every_scenario(args.quick, args.chain, args.fan, args.scale_timeout)
    scenarios = [s for s in every if not args.only or s.name in args.only]
    allowance = QUICK_ALLOWANCE_S if args.quick else FULL_ALLOWANCE_S
    measured: dict[str, dict[str, list[Measured]]] = {}
    failures: list[Failure] = []
    shm_log: dict[str, list[list[str]]] = {}  # system -> per run, /dev/shm files it left
    figures: list[FigureDef] = []
    floors: dict[str, list[Measured]] = {}  # floor key -> one Measured per repetition
    floor_rows: list[FloorRow] = []
    started = time.monotonic()
    for scenario in scenarios:
        figures += scenario.figures()
        around: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if isinstance(scenario, FlooredScenario):
            floor_rows += scenario.floor_rows()
            around = scenario.prepared()
        with around:
            run_scenario(
                scenario,
                systems,
                args.reps,
                allowance,
                args.keep,
                measured,
                failures,
                shm_log,
                floors,
            )
    report = build_report(figures, measured, failures)
    floor_lines = build_floor_lines(figures, floor_rows, measured, floors)
    report.remarks += shm_remarks(shm_log)
    elapsed = time.monotonic() - started
    settings = (
        f"{'quick' if args.quick else 'full'}, {args.reps} repetition(s), systems "
        f"{'+'.join(args.systems)}, scenarios {', '.join(s.name for s in scenarios)}, "
        f"{elapsed:.0f} s total"
    )
    print(render_text(report) + render_floor_text(floor_lines))
    print(f"\n({settings})")
    if args.markdown:
        markdown = render_markdown(report, command_line(), settings)
        args.markdown.write_text(markdown + render_floor_markdown(floor_lines))
        print(f"markdown report written to {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
