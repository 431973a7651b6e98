"""Probe node: what a node does at start beyond a bare interpreter with pyarrow imported.

Times ``import pyarrow``, ``from dora import Node`` and ``Node()``, lists the modules the
dora import adds, and reads its own memory by mapping (``/proc/self/smaps``): private
(USS) and proportional (PSS) kB per kind of mapping. With ``BENCH_BARE=1`` it stops after
pyarrow (the floor). Writes JSON to ``BENCH_RESULT``; needs nothing but the standard
library, pyarrow and the system's ``dora``, so it runs under ours and under the peer.
``memory_kb`` is taken after three small messages were sent, ``memory_at_start_kb`` right
after ``Node()``.
"""

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def mapping_kind(path: str) -> str:
    if path.startswith("["):
        return path  # [heap], [stack], [anon]
    name = os.path.basename(path)
    if name.startswith("libarrow"):
        return "libarrow*"
    if ".so" in name:
        for package in ("pyarrow", "numpy", "msgspec", "dora", "zenoh"):
            if f"/{package}" in path:
                return f"{package} extension modules"
        return "libpython, libc and other .so" if "python" in name or "lib" in name else name
    return "other files"


def memory_by_kind() -> dict[str, list[int]]:
    """kind -> [USS kB, PSS kB]."""
    kinds: dict[str, list[int]] = {}
    kind = "[anon]"
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            field = line.split()
            if field and not field[0].endswith(":"):  # a mapping's header line
                kind = mapping_kind(field[5]) if len(field) > 5 else "[anon]"
            elif field[0] in ("Private_Clean:", "Private_Dirty:"):
                kinds.setdefault(kind, [0, 0])[0] += int(field[1])
            elif field[0] == "Pss:":
                kinds.setdefault(kind, [0, 0])[1] += int(field[1])
    return kinds


def main() -> None:
    result: dict = {}
    start = time.perf_counter()
    import pyarrow

    result["import_pyarrow_s"] = time.perf_counter() - start
    with_pyarrow = set(sys.modules)
    if os.environ.get("BENCH_BARE") != "1":
        start = time.perf_counter()
        from dora import Node

        result["import_dora_s"] = time.perf_counter() - start
        start = time.perf_counter()
        node = Node()
        result["node_init_s"] = time.perf_counter() - start
        result["modules_added"] = sorted(set(sys.modules) - with_pyarrow)
        result["memory_at_start_kb"] = memory_by_kind()
        # what the first messages add: an 8-byte array sent on output ``data``, as the
        # chain's nodes do (the peer needs the output declared in the dataflow)
        for _ in range(3):
            node.send_output("data", pyarrow.array([1] * 8, type=pyarrow.uint8()), {"seq": 0})
        del node
    else:  # the same arrays, unsent: pyarrow's allocator is not the node API's cost
        arrays = [pyarrow.array([1] * 8, type=pyarrow.uint8()) for _ in range(3)]
        del arrays
    result["script_s"] = time.perf_counter() - T_START
    result["modules"] = len(sys.modules)
    result["memory_kb"] = memory_by_kind()
    tmp = os.environ["BENCH_RESULT"] + ".tmp"
    with open(tmp, "w") as out:
        json.dump(result, out)
    os.replace(tmp, os.environ["BENCH_RESULT"])


main()
