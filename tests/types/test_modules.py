"""Module expansion through the loader: naming, wiring, params, paths, builds, errors."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from dora_message.descriptor import Descriptor, InputSpec, Node
from dora_message.errors import DescriptorError
from dora_message.load import load_descriptor, parse_descriptor
from dora_message.modules import expand_with_boundaries

ECHO = (
    "module:\n  name: echo\n  inputs: [data_in]\n  outputs: [data_out]\n"
    "nodes:\n  - id: passthrough\n    path: echo.py\n"
    "    inputs:\n      incoming: _mod/data_in\n    outputs: [data_out]\n"
)
FLOW = (
    "nodes:\n  - id: source\n    path: source.py\n    outputs: [number]\n"
    "  - id: my_echo\n    module: echo.module.yml\n    inputs:\n      data_in: source/number\n"
    "  - id: sink\n    path: sink.py\n    inputs:\n      result: my_echo/data_out\n"
)


def project(tmp_path: Path, files: dict[str, str], flow: str) -> Path:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    target = tmp_path / "dataflow.yml"
    target.write_text(flow)
    return target


def nodes(path: Path) -> dict[str, Node]:
    return {node.id: node for node in load_descriptor(path).nodes}


def fails(path: Path) -> DescriptorError:
    with pytest.raises(DescriptorError) as info:
        load_descriptor(path)
    return info.value


def test_flat_passthrough(tmp_path: Path) -> None:
    flow = project(tmp_path, {"echo.module.yml": ECHO}, FLOW)
    got = nodes(flow)
    assert list(got) == ["source", "my_echo.passthrough", "sink"]
    assert got["my_echo.passthrough"].inputs == {"incoming": "source/number"}
    assert got["my_echo.passthrough"].path == "echo.py"
    assert got["sink"].inputs == {"result": "my_echo.passthrough/data_out"}
    assert all(node.kind != "module" for node in got.values())


def test_dataflows_without_modules_are_untouched() -> None:
    text = "nodes:\n  - id: a\n    path: a.py\n"
    assert parse_descriptor(text).nodes[0].path == "a.py"


def test_boundaries(tmp_path: Path) -> None:
    flow = project(tmp_path, {"echo.module.yml": ECHO}, FLOW)
    raw = msgspec.convert(yaml.safe_load(FLOW), Descriptor)  # not yet expanded
    expansion = expand_with_boundaries(raw, flow)
    assert expansion.boundaries == {"my_echo": ["my_echo.passthrough"]}
    assert [n.id for n in expansion.descriptor.nodes] == ["source", "my_echo.passthrough", "sink"]


def test_queue_options_inner_first_then_binding(tmp_path: Path) -> None:
    module = (
        "module: {name: q, inputs: [a, b]}\nnodes:\n  - id: n\n    path: n.py\n    inputs:\n"
        "      a: {source: _mod/a, queue_size: 3}\n      b: _mod/b\n"
    )
    flow = project(
        tmp_path,
        {"q.yml": module},
        "nodes:\n  - id: s\n    path: s.py\n    outputs: [o]\n"
        "  - id: m\n    module: q.yml\n    inputs:\n"
        "      a: {source: s/o, queue_size: 7, input_timeout: 2.5}\n"
        "      b: {source: s/o, queue_policy: backpressure}\n",
    )
    inner = nodes(flow)["m.n"]
    assert inner.inputs == {
        "a": InputSpec(source="s/o", queue_size=3, input_timeout=2.5),
        "b": InputSpec(source="s/o", queue_policy="backpressure"),
    }


def test_unwired_optional_input_is_dropped(tmp_path: Path) -> None:
    module = (
        "module: {name: opt, inputs_optional: [map], outputs: [o]}\n"
        "nodes:\n  - id: n\n    path: n.py\n    inputs:\n      map: _mod/map\n"
        "      tick: dora/timer/millis/5\n    input_types: {map: std/core/v1/Bytes}\n"
        "    outputs: [o]\n"
    )
    flow = project(tmp_path, {"opt.yml": module}, "nodes:\n  - id: m\n    module: opt.yml\n")
    inner = nodes(flow)["m.n"]
    assert inner.inputs == {"tick": "dora/timer/millis/5"}
    assert inner.input_types is None


def test_params_env_and_deploy(tmp_path: Path) -> None:
    module = (
        "module: {name: p}\nnodes:\n  - id: n\n    path: n.py\n"
        "    args: --speed $PARAM_SPEED --mode ${_param.mode} $PARAM_SPEED_LIMIT ${_param.nope}"
        " $PARAM_NOPE\n"
        "    env: {MODE: inner, PARAM_SPEED: inner}\n"
        "  - id: placed\n    path: p.py\n    deploy: {machine: own}\n"
    )
    flow = project(
        tmp_path,
        {"p.yml": module},
        "nodes:\n  - id: m\n    module: p.yml\n"
        "    params: {speed: '${_param.mode}', mode: turbo, flag: true}\n"
        "    env: {MODE: outer, SHARED: x}\n    deploy: {machine: robot}\n",
    )
    got = nodes(flow)
    inner = got["m.n"]
    # one pass: the substituted `${_param.mode}` is not expanded again; unknowns stay
    assert inner.args == (
        "--speed ${_param.mode} --mode turbo $PARAM_SPEED_LIMIT ${_param.nope} $PARAM_NOPE"
    )
    assert inner.env is not None
    assert inner.env["MODE"] == "inner" and inner.env["SHARED"] == "x"
    assert inner.env["PARAM_SPEED"] == "${_param.mode}" and inner.env["PARAM_FLAG"] == "true"
    assert inner.deploy is not None and inner.deploy.machine == "robot"
    assert got["m.placed"].deploy is not None and got["m.placed"].deploy.machine == "own"


def test_module_file_env_is_expanded(tmp_path: Path) -> None:
    module = "module: {name: e}\nnodes:\n  - id: n\n    path: n.py\n    env: {HOME_DIR: $HOME}\n"
    flow = project(tmp_path, {"e.yml": module}, "nodes:\n  - id: m\n    module: e.yml\n")
    descriptor = parse_descriptor(flow.read_text(), str(flow), environ={"HOME": "/home/me"})
    assert descriptor.nodes[0].env == {"HOME_DIR": "/home/me"}


def test_paths_are_rebased_and_contained(tmp_path: Path) -> None:
    module = (
        "module: {name: p}\nnodes:\n"
        "  - id: rel\n    path: ../nodes/./x.py\n"
        "  - id: special\n    path: dynamic\n"
        "  - id: url\n    path: https://example.com/n\n"
        "  - id: op\n    operator: {python: op.py}\n"
        "  - id: ops\n    operators:\n      - {id: a, shared-library: lib/a}\n"
        "      - {id: b, python: {source: b.py, conda_env: e}}\n"
    )
    flow = project(tmp_path, {"mods/p.yml": module}, "nodes:\n  - id: m\n    module: mods/p.yml\n")
    got = nodes(flow)
    assert got["m.rel"].path == "nodes/x.py"
    assert got["m.special"].path == "dynamic"
    assert got["m.url"].path == "https://example.com/n"
    assert got["m.op"].operator is not None and got["m.op"].operator.python == "mods/op.py"
    ops = got["m.ops"].operators or []
    assert ops[0].shared_library == "mods/lib/a"
    assert not isinstance(ops[1].python, str) and ops[1].python is not None
    assert ops[1].python.source == "mods/b.py" and ops[1].python.conda_env == "e"


def test_nested_modules_builds_and_sibling_references(tmp_path: Path) -> None:
    outer = (
        "module: {name: nav, inputs: [goal], outputs: [cmd, plan]}\nbuild: echo outer\n"
        "nodes:\n  - id: planner\n    module: sub/planner.yml\n    build: echo planner-node\n"
        "    inputs: {goal: _mod/goal}\n"
        "  - id: ctl\n    operators:\n      - id: c\n        python: c.py\n"
        "        inputs: {path: planner/path}\n        outputs: [cmd]\n"
    )
    planner = (
        "module: {name: planner, inputs: [goal], outputs: [path, plan]}\nbuild: echo inner\n"
        "nodes:\n  - id: astar\n    path: astar.py\n    build: pip install astar\n"
        "    inputs: {goal: _mod/goal}\n    outputs: [path, plan]\n"
    )
    flow = project(
        tmp_path,
        {"nav.yml": outer, "sub/planner.yml": planner},
        "nodes:\n  - id: loc\n    path: loc.py\n    outputs: [goal]\n"
        "  - id: nav\n    module: nav.yml\n    inputs: {goal: loc/goal}\n"
        "  - id: base\n    path: base.py\n    inputs: {cmd: nav/cmd, plan: nav/plan}\n",
    )
    got = nodes(flow)
    assert list(got) == ["loc", "nav.planner.astar", "nav.ctl", "base"]
    astar = got["nav.planner.astar"]
    assert astar.path == "sub/astar.py"
    assert astar.build == "echo outer\necho planner-node\necho inner\npip install astar"
    assert astar.inputs == {"goal": "loc/goal"}
    ctl = (got["nav.ctl"].operators or [])[0]
    assert ctl.build == "echo outer" and ctl.inputs == {"path": "nav.planner.astar/path"}
    assert got["base"].inputs == {"cmd": "nav.ctl/c/cmd", "plan": "nav.planner.astar/plan"}


def test_one_file_many_instances(tmp_path: Path) -> None:
    flow = project(
        tmp_path,
        {"echo.module.yml": ECHO},
        FLOW
        + "  - id: second\n    module: echo.module.yml\n    inputs: {data_in: my_echo/data_out}\n",
    )
    got = nodes(flow)
    assert got["second.passthrough"].inputs == {"incoming": "my_echo.passthrough/data_out"}


def depth_chain(tmp_path: Path, levels: int) -> Path:
    files = {}
    for level in range(levels):
        inner = (
            f"  - id: l{level + 1}\n    module: m{level + 1}.yml\n"
            if level + 1 < levels
            else "  - id: leaf\n    path: leaf.py\n"
        )
        files[f"m{level}.yml"] = f"module: {{name: m{level}}}\nnodes:\n{inner}"
    return project(tmp_path, files, "nodes:\n  - id: top\n    module: m0.yml\n")


def test_eight_levels_are_fine(tmp_path: Path) -> None:
    got = nodes(depth_chain(tmp_path, 8))
    assert list(got) == ["top." + ".".join(f"l{i}" for i in range(1, 8)) + ".leaf"]


ERRORS: dict[str, tuple[dict[str, str], str, str, str, str]] = {
    # name: (files, dataflow, error file (relative, "" = dataflow), path, phrase)
    "missing module file": (
        {}, "nodes:\n  - id: m\n    module: nope.yml\n",
        "dataflow.yml", "nodes[0].module", "module file not found",
    ),
    "absolute module path": (
        {}, "nodes:\n  - id: m\n    module: /etc/m.yml\n",
        "dataflow.yml", "nodes[0].module", "must be relative",
    ),
    "module file outside the project": (
        {"../outside.yml": ECHO}, "nodes:\n  - id: m\n    module: ../outside.yml\n",
        "dataflow.yml", "nodes[0].module", "escapes the project directory",
    ),
    "self cycle": (
        {"a.yml": "module: {name: a}\nnodes:\n  - id: again\n    module: a.yml\n"},
        "nodes:\n  - id: m\n    module: a.yml\n",
        "a.yml", "nodes[0].module", "circular module reference detected",
    ),
    "two-file cycle": (
        {"a.yml": "module: {name: a}\nnodes:\n  - id: b\n    module: b.yml\n",
         "b.yml": "module: {name: b}\nnodes:\n  - id: a\n    module: a.yml\n"},
        "nodes:\n  - id: m\n    module: a.yml\n",
        "b.yml", "nodes[0].module", "a.yml -> ",
    ),
    "required input not wired": (
        {"echo.module.yml": ECHO}, "nodes:\n  - id: m\n    module: echo.module.yml\n",
        "dataflow.yml", "nodes[0].inputs", "declares required input `data_in` but node `m`",
    ),
    "wired input not declared": (
        {"echo.module.yml": ECHO},
        "nodes:\n  - id: s\n    path: s.py\n    outputs: [o]\n  - id: m\n"
        "    module: echo.module.yml\n    inputs: {data_in: s/o, extra: s/o}\n",
        "dataflow.yml", "nodes[1].inputs.extra", "declared inputs are: `data_in`",
    ),
    "undeclared _mod port": (
        {"m.yml": "module: {name: m}\nnodes:\n  - id: n\n    path: n.py\n"
                  "    inputs: {x: _mod/ghost}\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "nodes[0].inputs.x", "`_mod/ghost` but `ghost` is not declared",
    ),
    "unknown key in module file": (
        {"m.yml": "module: {name: m}\nnodes: []\nparams: {}\n"},
        "nodes:\n  - id: m\n    module: m.yml\n", "m.yml", "params", "unknown key `params`",
    ),
    "unknown header key": (
        {"m.yml": "module: {name: m, output: [x]}\nnodes: []\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "module.output", "did you mean `outputs`",
    ),
    "header without name": (
        {"m.yml": "module: {inputs: []}\nnodes: []\n"},
        "nodes:\n  - id: m\n    module: m.yml\n", "m.yml", "module", "missing required key `name`",
    ),
    "port both required and optional": (
        {"m.yml": "module: {name: m, inputs: [a], inputs_optional: [a]}\nnodes: []\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "module.inputs_optional[0]", "both required and optional",
    ),
    "unknown inner node key": (
        {"m.yml": "module: {name: m}\nnodes:\n  - id: n\n    path: n.py\n    ouputs: [x]\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "nodes[0].ouputs", "did you mean `outputs`",
    ),
    "output without producer": (
        {"m.yml": "module: {name: m, outputs: [o]}\nnodes:\n  - id: n\n    path: n.py\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "module.outputs[0]", "declares output `o` but no inner node produces it",
    ),
    "output with two producers": (
        {"m.yml": "module: {name: m, outputs: [o]}\nnodes:\n"
                  "  - {id: a, path: a.py, outputs: [o]}\n  - {id: b, path: b.py, outputs: [o]}\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "module.outputs[0]", "multiple inner nodes produce it: m.a/o, m.b/o",
    ),
    "undeclared module output used outside": (
        {"echo.module.yml": ECHO},
        FLOW.replace("my_echo/data_out", "my_echo/passthrough"),
        "dataflow.yml", "nodes[2].inputs.result",
        "references `my_echo/passthrough` but module `my_echo` does not declare output",
    ),
    "duplicate id after expansion": (
        {"echo.module.yml": ECHO},
        FLOW + "  - id: my_echo.passthrough\n    path: x.py\n",
        "dataflow.yml", "nodes[3].id", "duplicate node ID `my_echo.passthrough` after module",
    ),
    "inner path escapes the project": (
        {"m.yml": "module: {name: m}\nnodes:\n  - id: n\n    path: ../../x.py\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "nodes[0].path", "resolves outside the project directory",
    ),
    "invalid param key": (
        {"echo.module.yml": ECHO},
        "nodes:\n  - id: m\n    module: echo.module.yml\n    params: {max-speed: 1}\n",
        "dataflow.yml", "nodes[0].params.max-speed", "invalid param name",
    ),
    "colliding param keys": (
        {"echo.module.yml": ECHO},
        "nodes:\n  - id: m\n    module: echo.module.yml\n    params: {mode: a, Mode: b}\n",
        "dataflow.yml", "nodes[0].params.Mode", "clashes with `mode`",
    ),
    "module with path": (
        {"echo.module.yml": ECHO}, "nodes:\n  - id: m\n    module: echo.module.yml\n    path: x\n",
        "dataflow.yml", "nodes[0]", "this one sets path, module",
    ),
    "build on a top-level module node": (
        {"echo.module.yml": ECHO}, "nodes:\n  - id: m\n    module: echo.module.yml\n    build: x\n",
        "dataflow.yml", "nodes[0].build", "not allowed on module nodes: build",
    ),
    "nested module node with operator": (
        {"m.yml": "module: {name: m}\nnodes:\n  - id: n\n    module: e.yml\n"
                  "    operator: {python: x.py}\n",
         "e.yml": "module: {name: e}\nnodes: []\n"},
        "nodes:\n  - id: m\n    module: m.yml\n",
        "m.yml", "nodes[0].operator", "`module:` cannot be combined with operator",
    ),
    "module file too large": (
        {"big.yml": "module: {name: big}\nnodes: []\n" + "#" * (1 << 20)},
        "nodes:\n  - id: m\n    module: big.yml\n", "big.yml", "", "module file too large",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ERRORS))
def test_module_errors(tmp_path: Path, name: str) -> None:
    files, flow_text, file, path, phrase = ERRORS[name]
    base = tmp_path / "project"
    base.mkdir()
    flow = project(base, files, flow_text)
    error = fails(flow)
    assert phrase in error.message, str(error)
    assert error.path == path, str(error)
    assert error.file is not None and Path(error.file).resolve() == (base / file).resolve()


def test_inner_errors_carry_the_module_line(tmp_path: Path) -> None:
    files, flow_text, *_ = ERRORS["undeclared _mod port"]
    error = fails(project(tmp_path, files, flow_text))
    assert error.message.endswith("(line 5)")


def test_nine_levels_are_too_deep(tmp_path: Path) -> None:
    error = fails(depth_chain(tmp_path, 9))
    assert "module nesting exceeds depth limit of 8" in error.message
    assert error.file is not None and error.file.endswith("m7.yml")


def test_validation_after_expansion_names_the_flat_node(tmp_path: Path) -> None:
    module = "module: {name: m}\nnodes:\n  - id: n\n    path: n.py\n    inputs: {x: ghost/o}\n"
    error = fails(project(tmp_path, {"m.yml": module}, "nodes:\n  - id: m\n    module: m.yml\n"))
    assert error.message.startswith("node `m.n`: source node `ghost` does not exist")
    assert "(line" not in error.message  # flat indexes have no YAML line
