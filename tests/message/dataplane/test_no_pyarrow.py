"""The data-plane core runs without pyarrow (the daemon's bridge does not load it)."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("framing", "sockets", "pool", "sender", "receiver")


def test_the_core_does_not_import_pyarrow() -> None:
    imports = "; ".join(f"import dora_message.dataplane.{name}" for name in MODULES)
    check = "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyarrow'))"
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == "[]"
