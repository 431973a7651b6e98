"""Which operators the runtime hosts, read from its environment (unit tests, no process):
``DORA_OPERATORS`` from this daemon, ``DORA_OPERATOR`` from older ones, and dora-rs's
``DORA_RUNTIME_CONFIG``, several operators allowed in each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dora._operators.spec import OperatorSpec, operator_specs


def test_the_daemons_list_is_taken_as_is() -> None:
    env = {
        "DORA_OPERATORS": json.dumps(
            [
                {"id": "py", "python": "/abs/op.py"},
                {"id": "c", "shared-library": "/abs/build/libc.so"},
            ]
        )
    }
    assert operator_specs(env) == [
        OperatorSpec("py", "python", "/abs/op.py"),
        OperatorSpec("c", "shared-library", "/abs/build/libc.so"),
    ]


def test_the_single_operator_variable_still_works() -> None:
    env = {"DORA_OPERATOR": json.dumps({"id": "op", "python": "/abs/op.py"})}
    assert operator_specs(env) == [OperatorSpec("op", "python", "/abs/op.py")]


def test_dora_rs_runtime_config_with_several_mixed_operators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = {
        "node": {"dataflow_id": "x"},
        "operators": [
            {"id": "det", "python": {"source": "det.py", "conda_env": "base"}},
            {"id": "c", "shared-library": "build/operator"},
            {"id": "raw", "shared-library": "lib/already.so"},
        ],
    }
    specs = operator_specs({"DORA_RUNTIME_CONFIG": json.dumps(config)})
    assert specs == [
        OperatorSpec("det", "python", str(tmp_path / "det.py")),
        OperatorSpec("c", "shared-library", str(tmp_path / "build" / "liboperator.so")),
        OperatorSpec("raw", "shared-library", str(tmp_path / "lib" / "already.so")),
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "none of DORA_OPERATORS"),
        ({"DORA_OPERATORS": "[]"}, "has no operators"),
        ({"DORA_OPERATORS": json.dumps([{"id": "x", "wasm": "x.wasm"}])}, "no `python`"),
        (
            {"DORA_OPERATORS": json.dumps([{"id": "a", "python": "/a.py"}] * 2)},
            "duplicate operator ids: a",
        ),
    ],
)
def test_what_the_runtime_refuses(env: dict[str, str], message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        operator_specs(env)
