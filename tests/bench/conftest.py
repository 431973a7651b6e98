"""Make the package-less bench/ folder (and its node helpers) importable in these tests."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
for folder in (BENCH, BENCH / "nodes"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
