"""Modules: reusable sub-dataflows, expanded into flat nodes at load time.

Public API:

* :func:`expand_modules` / :func:`expand_with_boundaries` — used by the descriptor
  loader, so ``load_descriptor`` always returns a flat dataflow;
* :func:`lint_module_file` — ``dora expand --module FILE``;
* :func:`read_module`, :class:`ModuleHeader` — the module file format.
"""

from dora_message.modules.expand import Expansion, expand_modules, expand_with_boundaries
from dora_message.modules.lint import lint_module_file
from dora_message.modules.schema import (
    MAX_MODULE_DEPTH,
    MAX_MODULE_FILE_SIZE,
    MODULE_INPUT_SOURCE,
    ModuleHeader,
    ModuleSource,
    read_module,
)

__all__ = [
    "MAX_MODULE_DEPTH",
    "MAX_MODULE_FILE_SIZE",
    "MODULE_INPUT_SOURCE",
    "Expansion",
    "ModuleHeader",
    "ModuleSource",
    "expand_modules",
    "expand_with_boundaries",
    "lint_module_file",
    "read_module",
]
