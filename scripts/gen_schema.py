"""Write the descriptor's JSON Schema to ``dora-schema.json`` at the repository root.

Usage: ``uv run python scripts/gen_schema.py`` (``--check`` only reports whether the
committed file is up to date, exiting 1 if not). Editors pick the schema up with e.g.
``# yaml-language-server: $schema=<path to dora-schema.json>`` at the top of a dataflow.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dora_message.schema import descriptor_schema_json

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "dora-schema.json"


def main(argv: list[str]) -> int:
    text = descriptor_schema_json()
    current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else None
    if "--check" in argv:
        if current == text:
            return 0
        print(f"{SCHEMA_FILE.name} is out of date: run scripts/gen_schema.py", file=sys.stderr)
        return 1
    if current != text:
        SCHEMA_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
