"""`dora validate`, `dora expand` and the type pass of `dora build`, through the real CLI.

Each test runs ``python -m dora_cli`` in a subprocess on files written to a temp dir,
covering the examples and the eight checks of the seed's validate and expand sections.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.procs import dataflow_leftovers, run_dora

ROOT = Path(__file__).resolve().parents[2]

# One dataflow touching every check: key existence (1), URN resolution (2), edge
# compatibility (3), parameters (4), timer typing (5), inference (6), metadata (7) and
# struct fields (8), with a user type from types/.
CHECKS = """\
nodes:
  - id: camera
    path: camera.py
    inputs:
      tick: dora/timer/millis/33
    input_types:
      tick: std/core/v1/UInt32
    outputs: [image, audio]
    output_types:
      framez: std/media/v1/Image
      image: std/core/v1/Bytes
      audio: std/media/v1/AudioFrame[sample_type=f32]
  - id: detector
    path: detect.py
    inputs:
      image: camera/image
      audio: camera/audio
    input_types:
      image: std/media/v1/Image
      audio: std/media/v1/AudioFrame[sample_type=i16]
    outputs: [bbox]
    output_types:
      bbox: std/vision/v1/BoundingBx
  - id: sensor
    path: sensor.py
    outputs: [reading]
    output_types:
      reading: acme/sensors/v1/Reading
    output_metadata:
      readings: [request_id]
  - id: processor
    path: proc.py
    inputs:
      reading: sensor/reading
  - id: archive
    path: archive.py
    inputs:
      reading: sensor/reading
    input_types:
      reading: acme/sensors/v1/Celsius
"""
USER_TYPES = """\
types:
  Reading:
    arrow: Struct
    fields:
      - {name: temperature, type: Float32}
  Celsius:
    arrow: Struct
    fields:
      - {name: temperature, type: Float64}
"""
EXPECTED_WARNINGS = [
    'node "camera": output_types key "framez" not found in outputs list',
    'node "detector": unknown type "std/vision/v1/BoundingBx" on output "bbox" '
    '(did you mean "std/vision/v1/BoundingBox"?)',
    'node "sensor": output_metadata key "readings" not found in outputs list',
    'node "camera": type mismatch on input "tick": timer provides "std/core/v1/UInt64", '
    'but expected "std/core/v1/UInt32"',
    'node "detector": type mismatch on input "image": upstream camera/image declares '
    '"std/core/v1/Bytes", but expected "std/media/v1/Image"',
    'node "detector": type mismatch on input "audio": upstream camera/audio declares '
    '"std/media/v1/AudioFrame[sample_type=f32]", but expected '
    '"std/media/v1/AudioFrame[sample_type=i16]"',
    'node "archive": type mismatch on input "reading": upstream sensor/reading declares '
    '"acme/sensors/v1/Reading", but expected "acme/sensors/v1/Celsius" '
    '(field "temperature" type mismatch: expected Float64, got Float32)',
]


def write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@pytest.fixture
def checks(tmp_path: Path) -> Path:
    write(tmp_path, {"dataflow.yml": CHECKS, "types/acme/sensors/v1.yml": USER_TYPES})
    return tmp_path


def warning_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index("Type warnings:") + 1
    return [line[4:] for line in lines[start:] if line.startswith("  - ")]


def test_validate_reports_every_check(checks: Path) -> None:
    result = run_dora(["validate", "dataflow.yml"], cwd=checks)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[:4] == [
        "Validating dataflow.yml...",
        "Loaded 2 user-defined type(s) from types/",
        "Input/output wiring OK.",
        "Descriptor config OK.",
    ]
    assert "  inferred acme/sensors/v1/Reading on processor/reading (from sensor/reading)" in out
    got = warning_lines(result.stdout)
    assert len(got) == len(EXPECTED_WARNINGS)
    for line, expected in zip(got, EXPECTED_WARNINGS, strict=True):
        assert line.startswith(expected), line
        assert "; hint: " in line or "did you mean" in line
    assert out[-1] == "7 type warning(s) found."


def test_validate_strict_types_fails_on_warnings(checks: Path) -> None:
    result = run_dora(["validate", "--strict-types", "dataflow.yml"], cwd=checks)
    assert result.returncode == 1
    assert "error: 7 type warning(s) found (--strict mode)" in result.stderr
    assert "Type warnings:" in result.stdout


def test_strict_types_in_the_yaml(checks: Path) -> None:
    flow = checks / "dataflow.yml"
    flow.write_text("strict_types: true\n" + CHECKS)
    result = run_dora(["validate", str(flow)])
    assert result.returncode == 1
    assert "type warning(s) found (--strict mode)" in result.stderr


def test_strict_reports_untyped_upstream(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "dataflow.yml": "nodes:\n  - id: a\n    path: a.py\n    outputs: [o]\n"
            "  - id: b\n    path: b.py\n    inputs: {x: a/o}\n"
            "    input_types: {x: std/core/v1/Float64}\n"
        },
    )
    relaxed = run_dora(["validate", "dataflow.yml"], cwd=tmp_path)
    assert relaxed.returncode == 0 and "All type annotations OK." in relaxed.stdout
    strict = run_dora(["validate", "--strict-types", "dataflow.yml"], cwd=tmp_path)
    assert strict.returncode == 1
    assert (
        'node "b": input "x" expects type "std/core/v1/Float64" but upstream a/o has no type '
        "annotation" in strict.stdout
    )


def test_clean_dataflow(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "dataflow.yml": "nodes:\n  - id: a\n    path: a.py\n    outputs: [o]\n"
            "    output_types: {o: std/core/v1/UInt8}\n"
            "  - id: b\n    path: b.py\n    inputs: {x: a/o, t: dora/timer/hz/10}\n"
            "    input_types: {x: std/core/v1/UInt64, t: std/core/v1/UInt64}\n"
        },
    )
    result = run_dora(["validate", "--strict-types", "dataflow.yml"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "All type annotations OK."


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("nodes:\n  - id: a\n    path: a.py\n    inputs: {x: ghost/o}\n", "ghost"),
        ("nodes:\n  - id: a\n    path: a.py\n    ouputs: [x]\n", "did you mean `outputs`"),
        ("nodes: [\n", "invalid YAML"),
    ],
)
def test_validate_refuses_broken_dataflows(tmp_path: Path, text: str, phrase: str) -> None:
    write(tmp_path, {"dataflow.yml": text})
    result = run_dora(["validate", "dataflow.yml"], cwd=tmp_path)
    assert result.returncode == 1
    assert phrase in result.stderr and "hint: check the YAML syntax" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_user_types_fail_validate(checks: Path) -> None:
    (checks / "types" / "std").mkdir()
    (checks / "types" / "std" / "mine.yml").write_text("types: {}\n")
    result = run_dora(["validate", "dataflow.yml"], cwd=checks)
    assert result.returncode == 1
    assert 'user types cannot use the "std/" prefix' in result.stderr


NAV_MODULE = """\
module:
  name: navigation
  inputs: [goal_pose]
  outputs: [cmd_vel]
nodes:
  - id: planner
    path: planner.py
    inputs:
      goal: _mod/goal_pose
    outputs: [path]
  - id: controller
    path: controller.py
    args: --speed $PARAM_SPEED
    inputs:
      path: planner/path
    outputs: [cmd_vel]
    output_types:
      cmd_vel: std/control/v1/Twist
"""
NAV_FLOW = """\
nodes:
  - id: localization
    path: loc.py
    outputs: [goal]
  - id: nav_stack
    module: modules/navigation.module.yml
    inputs:
      goal_pose: localization/goal
    params:
      speed: "2.0"
  - id: base
    path: base.py
    inputs:
      cmd: nav_stack/cmd_vel
    input_types:
      cmd: std/control/v1/Twist
"""


@pytest.fixture
def nav(tmp_path: Path) -> Path:
    write(tmp_path, {"dataflow.yml": NAV_FLOW, "modules/navigation.module.yml": NAV_MODULE})
    return tmp_path


def test_expand_prints_the_flat_yaml(nav: Path) -> None:
    result = run_dora(["expand", "dataflow.yml"], cwd=nav)
    assert result.returncode == 0, result.stderr
    flat = yaml.safe_load(result.stdout)
    assert [n["id"] for n in flat["nodes"]] == [
        "localization",
        "nav_stack.planner",
        "nav_stack.controller",
        "base",
    ]
    planner, controller, base = flat["nodes"][1:]
    assert planner["inputs"] == {"goal": "localization/goal"}
    assert planner["path"] == "modules/planner.py"
    assert controller["args"] == "--speed 2.0"
    assert controller["env"] == {"PARAM_SPEED": "2.0"}
    assert controller["inputs"] == {"path": "nav_stack.planner/path"}
    assert base["inputs"] == {"cmd": "nav_stack.controller/cmd_vel"}
    assert all("module" not in node for node in flat["nodes"])


def test_expanded_output_loads_as_an_equivalent_dataflow(nav: Path) -> None:
    first = run_dora(["expand", "dataflow.yml"], cwd=nav)
    (nav / "flat.yml").write_text(first.stdout)
    again = run_dora(["expand", "flat.yml"], cwd=nav)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


def test_validate_sees_through_modules(nav: Path) -> None:
    result = run_dora(["validate", "dataflow.yml"], cwd=nav)
    assert result.returncode == 0, result.stderr
    assert "All type annotations OK." in result.stdout
    broken = NAV_FLOW.replace("cmd: std/control/v1/Twist", "cmd: std/math/v1/Pose")
    (nav / "dataflow.yml").write_text(broken)
    result = run_dora(["validate", "dataflow.yml"], cwd=nav)
    assert 'node "base": type mismatch on input "cmd": upstream nav_stack.controller/cmd_vel' in (
        result.stdout
    )


def test_expand_module_validates_one_file(nav: Path) -> None:
    result = run_dora(["expand", "--module", "modules/navigation.module.yml"], cwd=nav)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Module file is valid: modules/navigation.module.yml"


def test_expand_module_reports_problems(nav: Path) -> None:
    module = nav / "modules" / "navigation.module.yml"
    module.write_text(NAV_MODULE.replace("_mod/goal_pose", "_mod/goal"))
    result = run_dora(["expand", "--module", str(module)], cwd=nav)
    assert result.returncode == 1
    assert "references `_mod/goal` but `goal` is not declared" in result.stderr
    assert str(module.resolve()) in result.stderr


def test_expand_reports_module_errors(nav: Path) -> None:
    unwired = NAV_FLOW.replace("    inputs:\n      goal_pose: localization/goal\n", "")
    (nav / "dataflow.yml").write_text(unwired)
    result = run_dora(["expand", "dataflow.yml"], cwd=nav)
    assert result.returncode == 1
    assert "declares required input `goal_pose` but node `nav_stack`" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_runs_the_type_checks(checks: Path) -> None:
    relaxed = run_dora(["build", "dataflow.yml"], cwd=checks)
    assert relaxed.returncode == 0, relaxed.stderr
    assert f"  warning: {EXPECTED_WARNINGS[0]}" in relaxed.stderr
    assert "7 type warning(s) found. hint: use --strict-types" in relaxed.stderr
    assert "build finished" in relaxed.stderr
    strict = run_dora(["build", "--strict-types", "dataflow.yml"], cwd=checks)
    assert strict.returncode == 1
    assert "error: 7 type error(s) found (strict mode)" in strict.stderr
    assert "build finished" not in strict.stderr


def test_build_strict_types_from_the_yaml(checks: Path) -> None:
    (checks / "dataflow.yml").write_text("strict_types: true\n" + CHECKS)
    result = run_dora(["build", "dataflow.yml"], cwd=checks)
    assert result.returncode == 1
    assert "type error(s) found (strict mode)" in result.stderr


def test_help_lists_the_commands() -> None:
    result = run_dora(["--help"])
    assert "validate" in result.stdout and "expand" in result.stdout
    assert "--strict-types" in run_dora(["build", "--help"]).stdout


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_run_a_dataflow_made_of_a_module(tmp_path: Path) -> None:
    """The example pipeline with its transform moved into a module file runs unchanged."""
    example = ROOT / "examples" / "python-dataflow"
    shutil.copy(example / "sender.py", tmp_path)
    shutil.copy(example / "receiver.py", tmp_path)
    (tmp_path / "modules").mkdir()
    shutil.copy(example / "transform.py", tmp_path / "modules")
    write(
        tmp_path,
        {
            "modules/square.module.yml": "module:\n  name: square\n  inputs: [numbers]\n"
            "  outputs: [squared]\nnodes:\n  - id: transform\n    path: transform.py\n"
            "    inputs:\n      counter: _mod/numbers\n    outputs: [squared]\n",
            "dataflow.yml": "nodes:\n  - id: sender\n    path: sender.py\n"
            "    inputs:\n      tick: dora/timer/millis/20\n    outputs: [counter]\n"
            "  - id: sq\n    module: modules/square.module.yml\n"
            "    inputs:\n      numbers: sender/counter\n"
            "  - id: receiver\n    path: receiver.py\n"
            "    inputs:\n      squared: {source: sq/squared, queue_size: 100}\n",
        },
    )
    result = run_dora(["run", "dataflow.yml"], cwd=tmp_path, timeout=80)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "receiver: got 20 squares in order" in result.stdout
    (df_id,) = [p.name for p in (tmp_path / "out").iterdir()]
    assert (tmp_path / "out" / df_id / "log_sq.transform.jsonl").exists()
    assert not dataflow_leftovers(df_id)
