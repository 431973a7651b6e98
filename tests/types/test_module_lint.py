"""``lint_module_file``: one module file checked on its own (``dora expand --module``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dora_message.errors import DescriptorError
from dora_message.modules import lint_module_file

GOOD = (
    "module:\n  name: navigation\n  inputs: [goal]\n  inputs_optional: [map]\n"
    "  outputs: [cmd_vel, path]\n"
    "nodes:\n  - id: planner\n    module: ../shared/planner.yml\n"
    "    inputs: {goal: _mod/goal, map: _mod/map}\n"
    "  - id: ctl\n    operators:\n      - id: c\n        python: c.py\n"
    "        inputs: {path: planner/path, tick: dora/timer/millis/10}\n"
    "        outputs: [cmd_vel]\n"
    "  - id: watch\n    path: w.py\n    inputs: {cmd: ctl/c/cmd_vel, logs: dora/logs}\n"
)
PLANNER = (
    "module: {name: planner, inputs: [goal], inputs_optional: [map], outputs: [path]}\n"
    "nodes:\n  - id: astar\n    path: a.py\n    inputs: {goal: _mod/goal, map: _mod/map}\n"
    "    outputs: [path]\n"
)


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path / "mods" / "nav.yml"


def test_valid_module_with_nested_module_outside_its_folder(tmp_path: Path) -> None:
    target = write(tmp_path, {"mods/nav.yml": GOOD, "shared/planner.yml": PLANNER})
    header = lint_module_file(target)
    assert header.name == "navigation"
    assert header.outputs == ["cmd_vel", "path"]


CASES: dict[str, tuple[dict[str, str], str, str, str]] = {
    # name: (files besides the planner, error file, path, phrase)
    "undeclared _mod port": (
        {"mods/nav.yml": GOOD.replace("map: _mod/map}", "map: _mod/mapz}")},
        "mods/nav.yml", "nodes[0].inputs.map", "`_mod/mapz` but `mapz` is not declared",
    ),
    "undeclared _mod port in an operator": (
        {"mods/nav.yml": GOOD.replace("tick: dora/timer/millis/10", "tick: _mod/clock")},
        "mods/nav.yml", "nodes[1].operators[0].inputs.tick", "`_mod/clock` but `clock`",
    ),
    "duplicate inner id": (
        {"mods/nav.yml": GOOD.replace("id: watch", "id: ctl")},
        "mods/nav.yml", "nodes[2].id", "duplicate node id `ctl`",
    ),
    "sibling output does not exist": (
        {"mods/nav.yml": GOOD.replace("cmd: ctl/c/cmd_vel", "cmd: ctl/c/speed")},
        "mods/nav.yml", "nodes[2].inputs.cmd", "references `ctl/c/speed` but that output is not",
    ),
    "nested output does not exist": (
        {"mods/nav.yml": GOOD.replace("path: planner/path", "path: planner/route")},
        "mods/nav.yml", "nodes[1].operators[0].inputs.path", "`planner/route` but that output",
    ),
    "nested path absolute": (
        {"mods/nav.yml": GOOD.replace("../shared/planner.yml", "/shared/planner.yml")},
        "mods/nav.yml", "nodes[0].module", "must be relative",
    ),
    "nested file missing": (
        {"mods/nav.yml": GOOD.replace("../shared/planner.yml", "planner.yml")},
        "mods/nav.yml", "nodes[0].module", "nested module file not found",
    ),
    "nested required input not wired": (
        {"mods/nav.yml": GOOD.replace("goal: _mod/goal, map", "map")},
        "mods/nav.yml", "nodes[0].inputs", "declares required input `goal` but node `planner`",
    ),
    "nested file invalid": (
        {"shared/planner.yml": PLANNER.replace("outputs: [path]\n", "outputs: [route]\n")},
        "shared/planner.yml", "module.outputs[0]", "declares output `path` but no inner node",
    ),
    "declared output without producer": (
        {"mods/nav.yml": GOOD.replace("outputs: [cmd_vel, path]", "outputs: [cmd_vel, odom]")},
        "mods/nav.yml", "module.outputs[1]", "declares output `odom` but no inner node",
    ),
    "declared output with two producers": (
        {"mods/nav.yml": GOOD + "    outputs: [cmd_vel]\n"},
        "mods/nav.yml", "module.outputs[0]", "produce it: ctl/c/cmd_vel, watch/cmd_vel",
    ),
    "cycle through the nested file": (
        {"shared/planner.yml": PLANNER + "  - id: back\n    module: ../mods/nav.yml\n"
         "    inputs: {goal: _mod/goal}\n"},
        "shared/planner.yml", "nodes[1].module", "circular module reference detected",
    ),
    "unknown header key": (
        {"mods/nav.yml": GOOD.replace("  inputs_optional:", "  optional:")},
        "mods/nav.yml", "module.optional", "unknown key `optional` in the module header",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_lint_errors(tmp_path: Path, name: str) -> None:
    files, file, path, phrase = CASES[name]
    target = write(tmp_path, {"mods/nav.yml": GOOD, "shared/planner.yml": PLANNER, **files})
    with pytest.raises(DescriptorError) as info:
        lint_module_file(target)
    error = info.value
    assert phrase in error.message, str(error)
    assert error.path == path, str(error)
    assert error.file is not None and Path(error.file) == (tmp_path / file).resolve()


def test_depth_limit(tmp_path: Path) -> None:
    files = {f"m{i}.yml": f"module: {{name: m{i}}}\nnodes:\n  - id: n\n    module: m{i + 1}.yml\n"
             for i in range(9)}  # fmt: skip
    files["m9.yml"] = "module: {name: m9}\nnodes:\n  - id: leaf\n    path: l.py\n"
    write(tmp_path, files)
    with pytest.raises(DescriptorError, match="module nesting exceeds depth limit of 8"):
        lint_module_file(tmp_path / "m0.yml")
    assert lint_module_file(tmp_path / "m2.yml").name == "m2"  # 8 levels are fine


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DescriptorError, match="module file not found"):
        lint_module_file(tmp_path / "nope.yml")
