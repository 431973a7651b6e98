"""The operator runtime: one process hosting a runtime node's operators.

* :mod:`.spec` reads which operators to host (``DORA_OPERATORS``, or the older
  ``DORA_OPERATOR`` / dora-rs's ``DORA_RUNTIME_CONFIG``);
* :mod:`.python_op` runs a Python ``Operator`` class (with hot reload);
* :mod:`.native_abi` and :mod:`.native_op` run a shared library through dora-rs's C
  operator ABI (ctypes, Arrow C Data Interface);
* :mod:`.host` owns the node, routes each event to the operator it belongs to, and
  decides when the node ends.
"""
