"""Hot reload of a Python operator's module (``dora._reload``), without any daemon."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from dora._reload import load_module, reload_operator

pytestmark = pytest.mark.timeout(30)

OPERATOR = """
GREETING = {greeting!r}


class Operator:
    def __init__(self):
        self.count = 0
        self.created_as = GREETING

    def on_event(self, event, send_output):
        self.count += 1
        return GREETING
"""


@pytest.fixture
def op_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    file = tmp_path / f"op_{uuid.uuid4().hex}.py"
    file.write_text(OPERATOR.format(greeting="old"))
    return file


def rewrite(file: Path, text: str) -> None:
    """Change the file keeping its mtime and (when the text allows) its size: the edit
    must be picked up even where a bytecode cache would call it unchanged."""
    stat = file.stat()
    file.write_text(text)
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_reload_runs_the_new_code_with_the_old_state(op_file: Path) -> None:
    module = load_module(op_file)
    old = module.Operator()
    old.dataflow_descriptor = {"nodes": []}
    assert old.on_event({}, None) == "old" and old.count == 1

    rewrite(op_file, OPERATOR.format(greeting="new"))
    new = reload_operator(module, old)

    assert new is not old and type(new) is not type(old)
    assert new.on_event({}, None) == "new"
    assert new.count == 2  # state carried over
    assert new.created_as == "old"  # the old __dict__ wins over the new __init__
    assert new.dataflow_descriptor == {"nodes": []}
    assert sys.modules[op_file.stem] is module and module.GREETING == "new"


def test_a_syntax_error_keeps_the_old_module_and_operator(op_file: Path) -> None:
    module = load_module(op_file)
    old = module.Operator()
    rewrite(op_file, "GREETING = 'broken' (\n")
    with pytest.raises(SyntaxError):
        reload_operator(module, old)
    assert module.GREETING == "old"
    assert old.on_event({}, None) == "old"


def test_an_error_in_the_new_init_keeps_the_old_operator(op_file: Path) -> None:
    module = load_module(op_file)
    old = module.Operator()
    broken = OPERATOR.format(greeting="new").replace("self.count = 0", "1 / 0")
    rewrite(op_file, broken)
    with pytest.raises(ZeroDivisionError):
        reload_operator(module, old)
    assert module.GREETING == "old"
    assert old.on_event({}, None) == "old"


def test_an_import_time_error_restores_the_globals(op_file: Path) -> None:
    module = load_module(op_file)
    old = module.Operator()
    rewrite(op_file, "GREETING = 'half'\nraise RuntimeError('boom at import')\n")
    with pytest.raises(RuntimeError, match="boom at import"):
        reload_operator(module, old)
    assert module.GREETING == "old"  # not the half-executed 'half'
    assert old.on_event({}, None) == "old"


def test_names_not_redefined_keep_their_values_like_importlib_reload(op_file: Path) -> None:
    module = load_module(op_file)
    old = module.Operator()
    rewrite(op_file, "GREETING = 'changed'\n")
    new = reload_operator(module, old)
    assert type(new) is type(old)  # the class was not redefined
    assert new.on_event({}, None) == "changed"  # but it reads the new global


def test_no_bytecode_cache_is_written(op_file: Path) -> None:
    load_module(op_file)
    assert not (op_file.parent / "__pycache__").exists()
