"""Probe: how long loading and validating a large generated dataflow takes.

Generates ``--nodes`` nodes (a chain: each node reads the previous node's output and a
timer, declares two outputs, an env map and restart settings, every tenth a
single-operator node) and reports, best of ``--repeat`` runs:

* ``yaml``: parsing the text to Python objects (the bounded loader);
* ``convert``: msgspec conversion to ``Descriptor``;
* ``validate``: :func:`dora_message.validate.validate` alone;
* ``total``: :func:`dora_message.load.parse_descriptor`, all of the above plus env expansion.

Speed is measured here, not asserted in tests (issue 13, item 10).

Run: ``uv run python bench/probes/validate_speed.py [--nodes 20000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import msgspec

from dora_message.descriptor import Descriptor
from dora_message.load import parse_descriptor
from dora_message.validate import validate
from dora_message.yaml_load import load_yaml_mapping


def generate(count: int) -> str:
    """YAML text of a ``count``-node chain."""
    lines = ["nodes:"]
    for i in range(count):
        lines.append(f"  - id: node-{i}")
        if i % 10 == 9:
            lines += [
                "    operator:",
                "      python: op.py",
                "      outputs: [out, aux]",
                "      inputs:",
                f"        prev: node-{i - 1}/out",
            ]
            continue
        lines += [
            f"    path: nodes/n{i}.py",
            "    outputs: [out, aux]",
            "    restart_policy: on-failure",
            "    restart_delay: 0.5",
            "    env:",
            f"      INDEX: {i}",
            "      MODE: fast",
            "    inputs:",
            "      tick: dora/timer/millis/100",
        ]
        if i:
            lines.append(f"      prev: node-{i - 1}/out")
    return "\n".join(lines) + "\n"


def best(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """The shortest of ``repeat`` wall-clock and CPU times of ``run()``, in seconds (on a
    shared machine the CPU time is the steadier figure)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = generate(args.nodes)
    import yaml

    loader = load_yaml_mapping
    raw = loader(text, None)
    descriptor = msgspec.convert(raw, Descriptor)
    rows = {
        "yaml (bounded loader)": best(args.repeat, lambda: loader(text, None)),
        "yaml (plain CSafeLoader)": best(
            args.repeat, lambda: yaml.load(text, Loader=yaml.CSafeLoader)
        ),
        "convert": best(args.repeat, lambda: msgspec.convert(raw, Descriptor)),
        "validate": best(args.repeat, lambda: validate(descriptor)),
        "total (parse_descriptor)": best(args.repeat, lambda: parse_descriptor(text)),
    }
    print(f"{args.nodes} nodes, {len(text) / 1e6:.1f} MB of YAML, best of {args.repeat}:")
    print(f"  {'':<26} {'wall':>9}  {'cpu':>9}  {'cpu/node':>11}")
    for name, (wall, cpu) in rows.items():
        print(f"  {name:<26} {wall:8.3f}s  {cpu:8.3f}s  {cpu / args.nodes * 1e6:7.1f} µs")


if __name__ == "__main__":
    main()
