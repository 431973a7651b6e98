"""The operator runtime: ``python -u -c "import dora; dora.start_runtime()"``.

The daemon starts the runtime like any node (``DORA_NODE_CONFIG``) and lists the node's
operators in ``DORA_OPERATORS`` (Python files and shared libraries, several per node,
mixed); ``DORA_OPERATOR`` (one Python operator) and dora-rs's ``DORA_RUNTIME_CONFIG``
are accepted too. The node's inputs and outputs are called ``<operator id>/<name>``;
each operator sees and uses the bare names. See :mod:`dora._operators`.
"""

from __future__ import annotations

from dora._operators.host import start_runtime
from dora_message.constants import ENV_OPERATOR, ENV_OPERATORS, ENV_RUNTIME_CONFIG

__all__ = ["ENV_OPERATOR", "ENV_OPERATORS", "ENV_RUNTIME_CONFIG", "start_runtime"]
