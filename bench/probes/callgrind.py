"""Instructions of one Python run, as ``valgrind --tool=callgrind`` counts them.

The probes that count instructions (``hot_path.py --count-instructions``, ``frame_loop.py``)
run themselves under callgrind twice, a short and a long run, and take the difference.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys


def instructions(args: list[str], env: dict[str, str] | None = None) -> int:
    """Instructions of ``python ARGS`` (this interpreter), ``env`` added to the environment."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stderr
    match = re.search(r"Collected : (\d+)", out)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(match.group(1))
