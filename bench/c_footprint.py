"""Code footprint of one C-node message, counted instead of timed.

After an idle wait, each code cache line and page a message runs through is likely a
miss, so "how many distinct lines and pages run per message" tracks small-message latency
without the run-to-run noise of a clock on a shared VM. This runs the bench pair
(bench/c sender and receiver, 8 B at 100 Hz) twice under valgrind's callgrind, N and 2N
messages, and counts per object what the N extra messages executed: instructions, and
the 64-byte lines and 4 KiB pages run about once per message or more. The receiver's
counts include its own work after ``t_recv`` (reading the event, writing its result).

    python bench/c_footprint.py [--src DIR] [--count N] [--by-function]

``--src`` is a ``dora_node_api_c`` package directory (default: this checkout's), e.g. an
older one from ``git archive``. Needs valgrind and gcc; a few seconds per run.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from c_build import C_DIR, COMMON, CPrograms, _compile
from c_rows import Lists, dora_spec, run_dora
from peer import ours_system

from dora_node_api_c import _build

DEFAULT_SRC = Path(_build.__file__).resolve().parent
Costs = dict[tuple[str, int], int]  # (object, instruction address) -> Ir


def build(src: Path, out: Path) -> CPrograms:
    """The library from `src` with the package's flags, the bench programs against it,
    and wrappers that start each under callgrind (ASLR off: same addresses each run)."""
    csrc = src / "csrc"
    lib = out / "libdora_node_api_c.so"
    sources = sorted((csrc / "common").glob("*.c")) + sorted((csrc / "node").glob("*.c"))
    includes = [f"-I{src / 'include'}", f"-I{csrc / 'common'}", f"-I{csrc / 'node'}"]
    subprocess.run(
        ["gcc", *_build._FLAGS, *includes, "-o", str(lib), *map(str, sources), *_build._LINK],
        check=True,
    )
    wrappers = {}
    for name in ("sender", "receiver"):
        exe = out / f"c-{name}"
        libs = [f"-L{out}", f"-Wl,-rpath,{out}", "-ldora_node_api_c", "-pthread"]
        _compile(["gcc"], [C_DIR / f"{name}.c", *COMMON], exe, [f"-I{src / 'include'}"], libs)
        wrapper = out / f"cg-{name}"
        wrapper.write_text(
            "#!/bin/sh\nexec setarch -R valgrind -q --tool=callgrind --dump-instr=yes "
            f"--callgrind-out-file={out}/out.{name}.%p {exe}\n"
        )
        wrapper.chmod(0o755)
        wrappers[name] = wrapper
    return CPrograms(out / "unused", wrappers["sender"], wrappers["receiver"])


def parse(path: Path, functions: dict[tuple[str, int], str]) -> Costs:
    """Self cost per instruction from a callgrind file (name compression, relative
    positions; the cost line after `calls=` is the callee's inclusive cost: skipped)."""
    costs: Costs = collections.Counter()
    names: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    ob = fn = ""
    addr = 0
    after_call = False
    for line in path.read_text().splitlines():
        m = re.match(r"(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            table = names[m.group(2)]
            if m.group(4):
                table[m.group(3)] = m.group(4)
            if not m.group(1):
                if m.group(2) == "ob":
                    ob = table.get(m.group(3), "?")
                else:
                    fn = table.get(m.group(3), "?")
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if not line or line[0] not in "+-*0123456789":
            continue
        parts = line.split()
        pos = parts[0]
        if pos.startswith("0x"):
            addr = int(pos, 16)
        elif pos[0] in "+-":
            step = int(pos[1:], 0)
            addr += step if pos[0] == "+" else -step
        if after_call:
            after_call = False
            continue
        if len(parts) >= 3:
            key = (os.path.basename(ob), addr)
            costs[key] += int(parts[2])
            functions[key] = fn
    return costs


def run(programs: CPrograms, out: Path, count: int, functions: dict) -> dict[str, Costs]:
    for old in out.glob("out.*"):
        old.unlink()
    lists = Lists([8], [count], [5], [10.0])
    outcome = run_dora(ours_system(None), dora_spec("footprint", programs, lists), False)
    if outcome.error:
        raise SystemExit(f"run of {count} messages failed: {outcome.error}")
    return {p.name.split(".")[1]: parse(p, functions) for p in out.glob("out.*")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--by-function", action="store_true", help="lines per function (ours)")
    args = ap.parse_args()
    functions: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="c-footprint-") as tmp:
        out = Path(tmp)
        programs = build(args.src.resolve(), out)
        short = run(programs, out, args.count, functions)
        long = run(programs, out, 2 * args.count, functions)
    for who in ("sender", "receiver"):
        before, after = short[who], long[who]
        lines: dict[str, set[int]] = collections.defaultdict(set)
        pages: dict[str, set[int]] = collections.defaultdict(set)
        ir: dict[str, int] = collections.Counter()
        per_fn: dict[str, set[int]] = collections.defaultdict(set)
        for key, n in after.items():
            extra = n - before.get(key, 0)
            if extra <= 0:
                continue
            ob, addr = key
            ir[ob] += extra
            if extra >= 0.9 * args.count:  # run (about) once per message or more
                lines[ob].add(addr // 64)
                pages[ob].add(addr // 4096)
                if "dora_node_api_c" in ob:
                    per_fn[functions.get(key, "?")].add(addr // 64)
        print(who)
        for ob in sorted(lines):
            print(
                f"  {ob:28s} code lines {len(lines[ob]):4d}  pages {len(pages[ob]):3d}"
                f"  instructions {ir[ob] / args.count:7.0f}  (per message)"
            )
        if args.by_function:
            for fn, fn_lines in sorted(per_fn.items(), key=lambda kv: -len(kv[1])):
                print(f"      {len(fn_lines):4d} lines  {fn}")


if __name__ == "__main__":
    main()
