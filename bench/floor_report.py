"""The "against the floor" table: each floored figure of ours and the peer beside its floor.

Columns: ours, the floor, ours / floor, the target on that ratio and its status, then the
peer and peer / floor for reference. Values are medians over repetitions, as in the main
table (report.aggregate); a floor with a bad repetition shows no number for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from floored import FloorRow
from report import Cell, aggregate, format_value, markdown_table, text_table
from scenarios import FigureDef, Measured

HEADER = (
    "figure",
    "floor measured",
    "ours",
    "floor",
    "ours / floor",
    "target",
    "status",
    "peer",
    "peer / floor",
)


@dataclass(frozen=True)
class FloorLine:
    fig: FigureDef  # the system figure
    row: FloorRow
    ours: Cell
    peer: Cell
    floor: Cell

    def ratio(self, cell: Cell) -> float | None:
        if cell.value is None or not self.floor.value:
            return None
        return cell.value / self.floor.value

    @property
    def status(self) -> str:
        target = self.row.target
        if target is None:
            return "info"
        if self.ours.problem == "not run":
            return "NOT met (ours not run)"
        if not self.ours.clean:
            return f"NOT met (ours {self.ours.label})"
        ratio = self.ratio(self.ours)
        if ratio is None or not self.floor.clean:
            return f"n/a (floor {self.floor.label or 'missing'})"
        return "met" if target.met(ratio, self.fig.better) else "NOT met"


def build_floor_lines(
    figures: list[FigureDef],
    rows: list[FloorRow],
    measured: dict[str, dict[str, list[Measured]]],
    floors: dict[str, list[Measured]],
) -> list[FloorLine]:
    """``measured[system][key]`` and ``floors[floor key]`` hold one Measured per rep."""
    by_key = {fig.key: fig for fig in figures}
    lines = []
    for row in rows:
        fig = by_key[row.figure]
        cells = {s: aggregate(fig, measured.get(s, {}).get(fig.key, [])) for s in ("ours", "peer")}
        floor = aggregate(row.floor, floors.get(row.floor.key, []))
        lines.append(FloorLine(fig, row, cells["ours"], cells["peer"], floor))
    return lines


def _value(unit: str, cell: Cell) -> str:
    if cell.problem == "not run":
        return "not run"
    if cell.value is None:
        return f"{cell.label}: {cell.problem}"
    text = format_value(unit, cell.value)
    return text if cell.bad == 0 else f"{text} ({cell.bad}/{cell.reps} reps {cell.label})"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def floor_table(lines: list[FloorLine]) -> list[tuple[str, ...]]:
    return [
        (
            line.fig.label,
            line.row.floor.label,
            _value(line.fig.unit, line.ours),
            _value(line.row.floor.unit, line.floor),
            _ratio(line.ratio(line.ours)),
            line.row.target.text if line.row.target else "-",
            line.status,
            _value(line.fig.unit, line.peer),
            _ratio(line.ratio(line.peer)),
        )
        for line in lines
    ]


def render_floor_text(lines: list[FloorLine]) -> str:
    if not lines:
        return ""
    table = text_table(HEADER, floor_table(lines))
    return "\n\nAgainst the floor (same run):\n" + "\n".join(table)


def render_floor_markdown(lines: list[FloorLine]) -> str:
    if not lines:
        return ""
    out = ["", "## Against the floor (same run)", "", *markdown_table(HEADER, floor_table(lines))]
    return "\n".join(out) + "\n"
