"""Turn per-repetition figures into the comparison table (plain text and markdown).

Values are medians over repetitions (worst case for delivery/ordering rows). A figure with
any invalid or failed repetition is shown as INVALID/FAILED with its reason in the notes,
never as a number.
"""

from __future__ import annotations

import os
import platform
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scenarios import FAILED_PREFIX, FigureDef, Measured
from stats import median
from targets import target_for

SYSTEMS = ("ours", "peer")


@dataclass(frozen=True)
class Cell:
    """One system's aggregated figure: a value, or why there is none."""

    value: float | None  # over the good repetitions only; None if there is none
    problem: str | None = None  # the first bad repetition's reason, or "not run"
    reps: int = 0
    bad: int = 0  # repetitions whose data was invalid or whose run failed

    @property
    def label(self) -> str:
        if self.problem is None:
            return ""
        if self.problem == "not run":
            return "not run"
        return "FAILED" if self.problem.startswith(FAILED_PREFIX) else "INVALID"

    @property
    def clean(self) -> bool:
        return self.value is not None and self.bad == 0


@dataclass
class Row:
    fig: FigureDef
    cells: dict[str, Cell]
    advantage: float | None = None
    target: str = ""
    status: str = ""


@dataclass
class Failure:
    """A run that did not complete, with the end of its log."""

    system: str
    scenario: str
    key: str
    rep: int
    error: str
    log_tail: str


@dataclass
class Report:
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # figure label -> system -> each repetition's value as text ("bad" when it had none)
    per_rep: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)  # observations outside the table


def aggregate(fig: FigureDef, reps: list[Measured]) -> Cell:
    """Median over the good repetitions (worst case for correctness rows).

    A bad repetition never contributes a number; the cell still records how many were bad
    and why, and the report shows that next to any value.
    """
    if not reps:
        return Cell(None, "not run")
    bad = [m for m in reps if m.value is None]
    problem = (bad[0].invalid or "no value") if bad else None
    values = [m.value for m in reps if m.value is not None]
    if not values:
        return Cell(None, problem, len(reps), len(bad))
    if fig.aggregate == "worst":
        value = min(values) if fig.better == "higher" else max(values)
    else:
        value = median(values)
    return Cell(value, problem, len(reps), len(bad))


def advantage(fig: FigureDef, ours: float, peer: float) -> float | None:
    """How many times better ours is than the peer (> 1 = ours ahead)."""
    better, worse = (peer, ours) if fig.better == "lower" else (ours, peer)
    if worse == 0:
        return None if better == 0 else float("inf")
    return better / worse


def build_report(
    figures: list[FigureDef],
    measured: dict[str, dict[str, list[Measured]]],
    failures: list[Failure],
) -> Report:
    """``measured[system][figure key]`` holds one Measured per repetition."""
    rows = []
    for fig in figures:
        cells = {s: aggregate(fig, measured.get(s, {}).get(fig.key, [])) for s in SYSTEMS}
        row = Row(fig, cells)
        ours, peer = cells["ours"], cells["peer"]
        if ours.value is not None and peer.value is not None and fig.unit not in ("count", "%"):
            row.advantage = advantage(fig, ours.value, peer.value)  # type: ignore[arg-type]
        target = target_for(fig.key)
        if target is None:
            row.status = "info"
        else:
            row.target = target.text
            row.status = _status(target, row, ours, peer)
        rows.append(row)
    per_rep = {
        fig.label: {
            system: [
                "bad" if m.value is None else format_value(fig.unit, m.value)
                for m in measured.get(system, {}).get(fig.key, [])
            ]
            for system in SYSTEMS
        }
        for fig in figures
    }
    return Report(rows, _notes(rows), failures, per_rep)


def _status(target, row: Row, ours: Cell, peer: Cell) -> str:
    if ours.problem == "not run":
        return "NOT met (ours not run)"
    if not ours.clean:
        return f"NOT met (ours {ours.label})"
    if target.absolute is not None:
        return "met" if target.absolute(ours.value) else "NOT met"
    if peer.value is None:
        return f"n/a (peer {peer.label})"
    if row.advantage is None:
        return "n/a"
    status = "met" if row.advantage >= target.min_advantage else "NOT met"
    if peer.bad:
        status += f" (peer: {peer.bad} of {peer.reps} reps {peer.label})"
    return status


def _notes(rows: list[Row]) -> list[str]:
    """Numbered reasons for every INVALID/FAILED cell, each reason once."""
    notes: list[str] = []
    for row in rows:
        for system, cell in row.cells.items():
            note = _note_key(system, cell)
            if note and note not in notes:
                notes.append(note)
    return notes


def _note_key(system: str, cell: Cell) -> str | None:
    if cell.problem is None or cell.problem == "not run":
        return None
    return f"{system}: {cell.problem}"


def format_value(unit: str, value: float) -> str:
    if unit == "us":
        if value >= 10_000:
            return f"{value / 1000:.1f} ms"
        return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} us"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "msg/s":
        return f"{value:,.0f} msg/s"
    if unit == "GB/s":
        return f"{value:.3f} GB/s" if value >= 0.1 else f"{value * 1000:.2f} MB/s"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:g} {unit}"


def _cell_text(report: Report, row: Row, system: str) -> str:
    cell = row.cells[system]
    if cell.problem == "not run":
        return "not run"
    if cell.problem is None:
        return format_value(row.fig.unit, cell.value)  # type: ignore[arg-type]
    note = f"{cell.label} [{report.notes.index(_note_key(system, cell)) + 1}]"
    if cell.value is None:
        return note
    # some repetitions were good: their median, with the bad ones in plain sight
    value = format_value(row.fig.unit, cell.value)
    return f"{value} ({cell.bad}/{cell.reps} reps {note})"


def _adv_text(row: Row) -> str:
    if row.advantage is None:
        return "-"
    return "inf" if row.advantage == float("inf") else f"{row.advantage:.2f}x"


HEADER = ("figure", "ours", "peer", "advantage (>1 = ours better)", "target", "status")


def table_rows(report: Report) -> list[tuple[str, ...]]:
    return [
        (
            row.fig.label,
            _cell_text(report, row, "ours"),
            _cell_text(report, row, "peer"),
            _adv_text(row),
            row.target or "-",
            row.status,
        )
        for row in report.rows
    ]


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell, a dashed line under the header."""
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A markdown table; a ``|`` inside a cell is escaped."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows),
    ]


def render_text(report: Report) -> str:
    return "\n".join(text_table(HEADER, table_rows(report)) + _notes_text(report))


def _notes_text(report: Report) -> list[str]:
    out = []
    if report.notes:
        out += ["", "Notes:"] + [f"  [{i}] {n}" for i, n in enumerate(report.notes, 1)]
    if report.remarks:
        out += ["", "Remarks:"] + [f"  - {r}" for r in report.remarks]
    for f in report.failures:
        out += ["", f"{f.system} failed in {f.scenario}/{f.key} (rep {f.rep}): {f.error}"]
        out += ["    " + line for line in f.log_tail.splitlines()]
    return out


def machine_description() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return [
        f"- uname: `{' '.join(os.uname())}`",
        f"- CPU: {cpu}, {os.cpu_count()} cores (2 cores, shared and noisy)",
        f"- Python: {platform.python_version()}",
    ]


def render_markdown(report: Report, argv: list[str], settings: str) -> str:
    lines = [
        "# dora benchmark: ours vs dora-rs 1.1.0 (the peer)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *machine_description(),
        f"- command: `{shlex.join(argv)}`",
        f"- settings: {settings}",
        "- advantage: how many times better ours is than the peer (peer/ours for times, "
        "ours/peer for rates); > 1 means ours is ahead",
        "",
        *markdown_table(HEADER, table_rows(report)),
    ]
    if report.notes:
        lines += ["", "Notes:", ""] + [f"{i}. {n}" for i, n in enumerate(report.notes, 1)]
    if report.remarks:
        lines += ["", "Remarks:", ""] + [f"- {r}" for r in report.remarks]
    if any(len(reps) > 1 for by_system in report.per_rep.values() for reps in by_system.values()):
        lines += ["", "Per repetition (in run order; `bad` = invalid or failed):", ""]
        lines += [
            f"- {label}: ours {', '.join(by_system['ours']) or '-'}; "
            f"peer {', '.join(by_system['peer']) or '-'}"
            for label, by_system in report.per_rep.items()
        ]
    for f in report.failures:
        lines += [
            "",
            f"**{f.system} failed** in {f.scenario}/{f.key} (rep {f.rep}): {f.error}",
            "",
            "```",
            f.log_tail,
            "```",
        ]
    return "\n".join(lines) + "\n"
