"""A table of bad descriptors: each is refused with the exact path and a key phrase."""

from __future__ import annotations

import pytest

from dora_message.errors import DescriptorError
from dora_message.load import parse_descriptor

# Two well-formed nodes that cases can wire to: `cam` (outputs image, depth) and a
# two-operator runtime `rt` (operator `pre` outputs `clean`).
CAM = "  - id: cam\n    path: cam.py\n    outputs: [image, depth]\n"
RT = (
    "  - id: rt\n    operators:\n"
    "      - id: pre\n        python: pre.py\n        outputs: [clean]\n"
    "      - id: post\n        python: post.py\n        outputs: [done]\n"
)


def consumer(inputs: str, extra: str = "") -> str:
    """A dataflow `cam`, then node `sink` (nodes[1]) with the given inputs block."""
    return f"nodes:\n{CAM}  - id: sink\n    path: sink.py\n{extra}    inputs:\n{inputs}"


def one(body: str) -> str:
    """A dataflow with a single node `a`; ``body`` holds its keys (4-space indent)."""
    return f"nodes:\n  - id: a\n{body}"


CASES: dict[str, tuple[str, str, str]] = {
    # --- schema: unknown keys, types, enums ---
    "unknown node key": (
        one("    path: a.py\n    ouputs: [x]\n"),
        "nodes[0].ouputs",
        "unknown key `ouputs`; did you mean `outputs`?",
    ),
    "unknown root key": ("node:\n  - id: a\n", "node", "did you mean `nodes`?"),
    "custom is internal": (
        one("    custom: {path: a.py}\n"),
        "nodes[0].custom",
        "unknown key `custom`",
    ),
    "unknown deploy key": (
        one("    path: a.py\n    _unstable_deploy: {machin: x}\n"),
        "nodes[0]._unstable_deploy.machin",
        "did you mean `machine`?",
    ),
    "unknown long-input key": (
        consumer("      x: {sorce: cam/image}\n"),
        "nodes[1].inputs.x.sorce",
        "did you mean `source`?",
    ),
    "__dora_env extra key": (
        one("    path: a.py\n    env:\n      A: {__dora_env: H, y: 1}\n"),
        "nodes[0].env.A.y",
        "unknown key `y`",
    ),
    "missing nodes": ("env: {A: 1}\n", "", "missing required key `nodes`"),
    "missing id": ("nodes:\n  - path: a.py\n", "nodes[0]", "missing required key `id`"),
    "missing long-input source": (
        consumer("      x: {queue_size: 3}\n"),
        "nodes[1].inputs.x",
        "missing required key `source`",
    ),
    "nodes not a list": ("nodes: cam\n", "nodes", "expected a list, got a string"),
    "node not a mapping": ("nodes:\n  - cam\n", "nodes[0]", "each node is a mapping"),
    "outputs not a list": (
        one("    path: a.py\n    outputs: image\n"),
        "nodes[0].outputs",
        "expected a list",
    ),
    "input is a number": (
        consumer("      ok: cam/image\n      x: 5\n"),
        "nodes[1].inputs.x",
        "write `<node>/<output>` or a mapping with `source:`",
    ),
    "inputs empty value": (
        one("    path: a.py\n    inputs:\n"),
        "nodes[0].inputs",
        "got nothing (an empty value)",
    ),
    "input key not a string": (
        one("    path: a.py\n    inputs:\n      1: cam/image\n"),
        "nodes[0].inputs",
        "key `1` must be a string",
    ),
    "env value is a list": (
        one("    path: a.py\n    env:\n      A: [1]\n"),
        "nodes[0].env.A",
        "got a list",
    ),
    "restart policy": (
        one("    path: a.py\n    restart_policy: sometimes\n"),
        "nodes[0].restart_policy",
        "expected one of",
    ),
    "restart policy case": (
        one("    path: a.py\n    restart_policy: On-Failure\n"),
        "nodes[0].restart_policy",
        "did you mean `on-failure`?",
    ),
    "queue policy": (
        consumer("      x: {source: cam/image, queue_policy: block}\n"),
        "nodes[1].inputs.x.queue_policy",
        "backpressure",
    ),
    # --- ids ---
    "node id with space": (
        "nodes:\n  - id: my node\n    path: a.py\n",
        "nodes[0].id",
        "invalid node id `my node`",
    ),
    "node id with slash": ("nodes:\n  - id: a/b\n    path: a.py\n", "nodes[0].id", "'/'"),
    "node id leading dot": (
        "nodes:\n  - id: .hidden\n    path: a.py\n",
        "nodes[0].id",
        "must not start with `.`",
    ),
    "node id dora": ("nodes:\n  - id: dora\n    path: a.py\n", "nodes[0].id", "reserved"),
    "node id empty": ("nodes:\n  - id: ''\n    path: a.py\n", "nodes[0].id", "node id is empty"),
    "duplicate node id": (
        f"nodes:\n{CAM}{CAM}",
        "nodes[1].id",
        "duplicate node id `cam` (also used by nodes[0])",
    ),
    "bad output id": (
        one("    path: a.py\n    outputs: ['a b']\n"),
        "nodes[0].outputs[0]",
        "invalid output id `a b`",
    ),
    "output id trailing slash": (
        one("    path: a.py\n    outputs: [img/]\n"),
        "nodes[0].outputs[0]",
        "no leading or trailing `/`",
    ),
    "bad input id": (
        consumer("      'in put': cam/image\n"),
        'nodes[1].inputs["in put"]',
        "invalid input id `in put`",
    ),
    # --- node kinds and their fields ---
    "no selector": (one("    outputs: [x]\n"), "nodes[0]", "no node source"),
    "git without path": (
        one("    git: https://x/r.git\n"),
        "nodes[0]",
        "`git:` also needs `path:`",
    ),
    "two selectors": (
        one("    path: a.py\n    operator: {python: a.py}\n"),
        "nodes[0]",
        "this one sets path, operator",
    ),
    "inputs on operator node": (
        one("    operator: {python: a.py}\n    inputs:\n      x: dora/timer/secs/1\n"),
        "nodes[0].inputs",
        "move them into the `operator:` block",
    ),
    "args on operators node": (
        "nodes:\n" + RT + "    args: --fast\n",
        "nodes[0].args",
        "not allowed on operators nodes",
    ),
    "bad restart delay on operators node": (
        "nodes:\n" + RT + "    restart_policy: on-failure\n    restart_delay: -1\n",
        "nodes[0].restart_delay",
        "must be >= 0 seconds",
    ),
    "build on module": (
        one("    module: m.yml\n    build: make\n"),
        "nodes[0].build",
        "not allowed on module nodes: build",
    ),
    "params on process node": (
        one("    path: a.py\n    params: {x: 1}\n"),
        "nodes[0].params",
        "not allowed on standard nodes: params",
    ),
    "git on ros2": (
        one("    ros2: {topic: /x}\n    git: https://x/r.git\n"),
        "nodes[0].git",
        "not allowed on ros2 nodes",
    ),
    "unresolved hub": (one("    hub: acme/cam@1.0\n"), "nodes[0].hub", "unresolved `hub:`"),
    "hub with path": (
        one("    hub: acme/cam@1.0\n    path: a.py\n"),
        "nodes[0].hub",
        "cannot be combined with path",
    ),
    "both deploy spellings": (
        one("    path: a.py\n    deploy: {machine: a}\n    _unstable_deploy: {machine: b}\n"),
        "nodes[0].deploy",
        "keep one",
    ),
    "both debug spellings": (
        "debug: {}\n_unstable_debug: {}\nnodes:\n  - id: a\n    path: a.py\n",
        "debug",
        "keep one",
    ),
    # --- sources ---
    "branch and tag": (
        one("    git: https://x/r.git\n    branch: main\n    tag: v1\n    path: a\n"),
        "nodes[0].tag",
        "at most one of branch, tag, rev",
    ),
    "rev without git": (one("    path: a.py\n    rev: abc\n"), "nodes[0].rev", "requires `git:`"),
    "sha256 on local path": (
        one(f"    path: a.py\n    path_sha256: {'a' * 64}\n"),
        "nodes[0].path_sha256",
        "http(s) URL",
    ),
    "sha256 not hex": (
        one("    path: https://x/n.zip\n    path_sha256: xyz\n"),
        "nodes[0].path_sha256",
        "64 hexadecimal",
    ),
    "empty path": (one("    path: ''\n"), "nodes[0].path", "path is empty"),
    "unbalanced args": (
        one("    path: a.py\n    args: --name 'unterminated\n"),
        "nodes[0].args",
        "unbalanced quotes",
    ),
    # --- inputs and wiring ---
    "source without slash": (
        consumer("      x: cam\n"),
        "nodes[1].inputs.x",
        "invalid input source `cam`",
    ),
    "long-form bad source": (
        consumer("      x: {source: cam}\n"),
        "nodes[1].inputs.x.source",
        "invalid input source",
    ),
    "source node missing": (
        consumer("      x: camm/image\n"),
        "nodes[1].inputs.x",
        "source node `camm` does not exist; did you mean `cam`?",
    ),
    "source node invalid": (
        consumer("      x: 'my cam/image'\n"),
        "nodes[1].inputs.x",
        "invalid node id `my cam`",
    ),
    "output undeclared": (
        consumer("      x: cam/imag\n"),
        "nodes[1].inputs.x",
        "output `cam/imag` does not exist: `cam` declares `image`, `depth`; did you mean `image`?",
    ),
    "output undeclared no hint": (
        consumer("      x: cam/zzz\n"),
        "nodes[1].inputs.x",
        "add `zzz` to its outputs",
    ),
    "timer zero": (
        consumer("      t: dora/timer/millis/0\n"),
        "nodes[1].inputs.t",
        "greater than zero",
    ),
    "timer unit": (
        consumer("      t: dora/timer/weeks/1\n"),
        "nodes[1].inputs.t",
        "unknown unit `weeks`",
    ),
    "timer hz zero": (
        consumer("      t: dora/timer/hz/0\n"),
        "nodes[1].inputs.t",
        "finite number > 0",
    ),
    "unknown dora source": (
        consumer("      t: dora/clock/1\n"),
        "nodes[1].inputs.t",
        "unknown dora source `dora/clock/1`",
    ),
    "logs level": (
        consumer("      l: dora/logs/verbose\n"),
        "nodes[1].inputs.l",
        "unknown level `verbose`",
    ),
    "runtime output without operator": (
        f"nodes:\n{RT}  - id: sink\n    path: s.py\n    inputs:\n      x: rt/clean\n",
        "nodes[1].inputs.x",
        "write `rt/<operator_id>/clean`",
    ),
    "runtime operator missing": (
        f"nodes:\n{RT}  - id: sink\n    path: s.py\n    inputs:\n      x: rt/pree/clean\n",
        "nodes[1].inputs.x",
        "source operator `rt/pree` does not exist; did you mean `pre`?",
    ),
    "runtime operator output missing": (
        f"nodes:\n{RT}  - id: sink\n    path: s.py\n    inputs:\n      x: rt/pre/done\n",
        "nodes[1].inputs.x",
        "output `rt/pre/done` does not exist",
    ),
    "queue size negative": (
        consumer("      x: {source: cam/image, queue_size: -1}\n"),
        "nodes[1].inputs.x.queue_size",
        "must be >= 1",
    ),
    "input timeout nan": (
        consumer("      x: {source: cam/image, input_timeout: .nan}\n"),
        "nodes[1].inputs.x.input_timeout",
        "not a finite number",
    ),
    # --- timings, logs, sizes, counts ---
    "health interval zero": (
        "health_check_interval: 0\nnodes:\n" + CAM,
        "health_check_interval",
        "greater than 0",
    ),
    "negative restart delay": (
        one("    path: a.py\n    restart_delay: -1\n"),
        "nodes[0].restart_delay",
        "must be >= 0",
    ),
    "infinite grace": (
        one("    path: a.py\n    finish_grace_secs: .inf\n"),
        "nodes[0].finish_grace_secs",
        "not a finite number",
    ),
    "bad log level": (
        one("    path: a.py\n    min_log_level: verbose\n"),
        "nodes[0].min_log_level",
        "invalid log level `verbose`",
    ),
    "bad log size": (
        one("    path: a.py\n    max_log_size: 50XB\n"),
        "nodes[0].max_log_size",
        "unknown unit `xb`",
    ),
    "zero log size": (
        one("    path: a.py\n    max_log_size: 0\n"),
        "nodes[0].max_log_size",
        "greater than 0 bytes",
    ),
    "bad shm size": (
        one("    path: a.py\n    shared_memory_pool_size: lots\n"),
        "nodes[0].shared_memory_pool_size",
        "invalid size `lots`",
    ),
    "rotated files zero": (
        one("    path: a.py\n    max_rotated_files: 0\n"),
        "nodes[0].max_rotated_files",
        "between 1 and 100",
    ),
    "rotated files 101": (
        one("    path: a.py\n    max_rotated_files: 101\n"),
        "nodes[0].max_rotated_files",
        "between 1 and 100, got 101",
    ),
    "negative max restarts": (
        one("    path: a.py\n    max_restarts: -1\n"),
        "nodes[0].max_restarts",
        "between 0 and",
    ),
    "negative core": (
        one("    path: a.py\n    cpu_affinity: [-1]\n"),
        "nodes[0].cpu_affinity[0]",
        "negative",
    ),
    # --- operators ---
    "operators entry without id": (
        one("    operators:\n      - python: a.py\n"),
        "nodes[0].operators[0]",
        "every entry of `operators:` needs an id",
    ),
    "duplicate operator id": (
        one("    operators:\n      - {id: x, python: a.py}\n      - {id: x, python: b.py}\n"),
        "nodes[0].operators[1].id",
        "duplicate operator id `x`",
    ),
    "operator id with slash": (
        one("    operator: {id: a/b, python: a.py}\n"),
        "nodes[0].operator.id",
        "must not contain `/`",
    ),
    "operator two sources": (
        one("    operator: {python: a.py, shared-library: liba}\n"),
        "nodes[0].operator",
        "exactly one of python, shared-library, wasm (found python, shared-library)",
    ),
    "wasm operator": (
        one("    operators:\n      - {id: w, wasm: op.wasm}\n"),
        "nodes[0].operators[0].wasm",
        "wasm operators are not supported",
    ),
    "operator no source": (
        one("    operator: {outputs: [x]}\n"),
        "nodes[0].operator",
        "(none set)",
    ),
    "operator input missing node": (
        one("    operator:\n      python: a.py\n      inputs:\n        x: ghost/o\n"),
        "nodes[0].operator.inputs.x",
        "source node `ghost` does not exist",
    ),
    "operator bad log level": (
        one("    operator: {python: a.py, min_log_level: loud}\n"),
        "nodes[0].operator.min_log_level",
        "invalid log level",
    ),
    "two operators route stdout": (
        one(
            "    operators:\n      - {id: x, python: a.py, send_stdout_as: o, outputs: [o]}\n"
            "      - {id: y, python: b.py, send_stdout_as: o, outputs: [o]}\n"
        ),
        "nodes[0].operators[1].send_stdout_as",
        "only one operator of a node may set",
    ),
    "empty operators": (one("    operators: []\n"), "nodes[0].operators", "`operators:` is empty"),
    # --- modules ---
    "bad param name": (
        one("    module: m.yml\n    params: {max-speed: 1}\n"),
        "nodes[0].params.max-speed",
        "invalid param name",
    ),
    "clashing params": (
        one("    module: m.yml\n    params: {speed: 1, Speed: 2}\n"),
        "nodes[0].params.Speed",
        "clashes with `speed`",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_descriptor(name: str) -> None:
    text, path, phrase = CASES[name]
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(text, "flow.yml", environ={})
    error = info.value
    assert error.path == path, str(error)
    assert phrase in error.message, str(error)
    assert error.file == "flow.yml"
    assert str(error).startswith(f"flow.yml: {path}: " if path else "flow.yml: ")


def test_errors_name_the_node() -> None:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(consumer("      x: camm/image\n"))
    assert info.value.message.startswith("node `sink`: ")


def test_base_shapes_parse() -> None:
    # The shapes the cases break parse cleanly, so a case is refused for what it changes
    # (test_bad_descriptor checks the path and phrase of each refusal).
    flow = parse_descriptor(consumer("      x: cam/image\n      t: dora/timer/hz/30\n"))
    assert [n.id for n in flow.nodes] == ["cam", "sink"]
    assert flow.nodes[0].outputs == ["image", "depth"]
    assert flow.nodes[1].inputs == {"x": "cam/image", "t": "dora/timer/hz/30"}
    flow = parse_descriptor(
        f"nodes:\n{RT}  - id: sink\n    path: s.py\n    inputs:\n      x: rt/pre/clean\n"
    )
    runtime = flow.nodes[0]
    assert [op.id for op in runtime.operators or []] == ["pre", "post"]
    assert flow.nodes[1].inputs == {"x": "rt/pre/clean"}
    (node,) = parse_descriptor(one("    path: a.py\n")).nodes
    assert (node.id, node.path, node.kind) == ("a", "a.py", "standard")
