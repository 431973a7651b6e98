"""Loading and hot-reloading a Python operator's module (no event loop, no dora I/O).

``load_module`` imports the operator file under its stem, with the file's directory on
``sys.path``. ``reload_operator`` is the runtime's answer to a RELOAD event
(``dora start --hot-reload``): it re-executes the module in place, like
``importlib.reload`` (same module object, globals overwritten, not cleared), creates a
new ``Operator()`` and copies the old instance's ``__dict__`` onto it, so state kept in
``self`` carries over while the methods are the new ones.

Two deliberate differences from a bare ``importlib.reload``:

* the module is re-executed from the file it was loaded from, always from source: the
  bytecode cache is validated by mtime (whole seconds) and size, so an edit that keeps the
  size within the same second would otherwise run the stale code;
* a failed reload (syntax error, exception at import time or in ``Operator()``) restores
  the module's previous globals and raises, so the old operator keeps running unchanged.

As with ``importlib.reload``, names the new code no longer defines keep their old values
(a file that drops ``class Operator`` goes on instantiating the old class).
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any


class _SourceOnlyLoader(SourceFileLoader):
    """Compiles the file on every load, never reading or writing ``__pycache__``."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path)
        return self.source_to_code(source, self.path)  # type: ignore[arg-type]


def load_module(path: str | Path) -> ModuleType:
    """Import the operator file ``path`` as a module named by its stem."""
    file = Path(path).resolve()
    directory = str(file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    loader = _SourceOnlyLoader(file.stem, str(file))
    spec = importlib.util.spec_from_file_location(file.stem, file, loader=loader)
    if spec is None:
        raise ImportError(f"cannot import operator file {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    loader.exec_module(module)
    return module


def reload_operator(module: ModuleType, old: Any) -> Any:
    """Re-execute ``module`` and return a new ``Operator()`` carrying ``old``'s state.

    On any failure the module's globals are restored and the exception propagates; the
    caller keeps ``old``.
    """
    spec = module.__spec__
    if spec is None or spec.loader is None:
        raise ImportError(f"module {module.__name__} cannot be reloaded (no loader)")
    saved = dict(module.__dict__)
    try:
        spec.loader.exec_module(module)
        new = module.Operator()
    except BaseException:
        module.__dict__.clear()
        module.__dict__.update(saved)
        raise
    state = getattr(old, "__dict__", None)
    if state:
        new.__dict__.update(state)
    return new
