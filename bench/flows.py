"""Dataflow descriptions for benchmark runs, and writing them as YAML.

Every run uses the shared node scripts in ``bench/nodes`` by absolute path, so ours and
the peer execute byte-identical node code; only the YAML ``env:`` differs between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

NODES_DIR = Path(__file__).resolve().parent / "nodes"


@dataclass(frozen=True)
class NodeSpec:
    """One node of a benchmark dataflow."""

    id: str
    script: str  # file name in bench/nodes
    env: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict] = field(default_factory=dict)  # input id -> {source, queue_size}
    outputs: tuple[str, ...] = ()
    writes_result: bool = False  # gets BENCH_RESULT=<run dir>/<id>.json


@dataclass(frozen=True)
class RunSpec:
    """One ``dora run`` of a scenario: its dataflow and how long it should take."""

    key: str
    nodes: tuple[NodeSpec, ...]
    expected_s: float  # the sending time alone, without start-up
    sample_rss: bool = False
    sample_cpu: bool = False  # sample the CPU of `dora run` itself (not the nodes)


def result_path(run_dir: Path, node_id: str) -> Path:
    return run_dir / f"{node_id}.json"


def write_flow(run_dir: Path, spec: RunSpec) -> Path:
    """Write ``spec`` as ``dataflow.yml`` in ``run_dir`` and return its path."""
    nodes = []
    for node in spec.nodes:
        env = dict(node.env)
        if node.writes_result:
            env["BENCH_RESULT"] = str(result_path(run_dir, node.id))
        entry: dict = {"id": node.id, "path": str(NODES_DIR / node.script)}
        if node.inputs:
            entry["inputs"] = {name: dict(cfg) for name, cfg in node.inputs.items()}
        if node.outputs:
            entry["outputs"] = list(node.outputs)
        # every value a string: both systems pass env values through verbatim
        entry["env"] = {key: str(value) for key, value in env.items()}
        nodes.append(entry)
    path = run_dir / "dataflow.yml"
    path.write_text(yaml.safe_dump({"nodes": nodes}, sort_keys=False))
    return path


def pair(
    sizes: list[int],
    counts: list[int],
    warmups: list[int],
    intervals_ms: list[float],
    receivers: tuple[str, ...] = ("receiver",),
    queue_size: int | None = None,
    ack_timeout_s: float = 3.0,
    sender_script: str = "sender.py",
    receiver_script: str = "receiver.py",
) -> tuple[NodeSpec, ...]:
    """The shared sender and its receivers, each acknowledging back to the sender.

    The acks let the sender stay alive until everything was delivered (see sender.py).
    The scripts default to the Python nodes; the C rows pass their compiled programs by
    absolute path (``NODES_DIR / "/abs/path"`` is that path).
    """
    total = sum(counts) + sum(warmups)
    source: dict = {"source": "sender/data"}
    if queue_size is not None:
        source["queue_size"] = queue_size
    send = NodeSpec(
        id="sender",
        script=sender_script,
        env={
            "BENCH_SIZES": ",".join(map(str, sizes)),
            "BENCH_COUNTS": ",".join(map(str, counts)),
            "BENCH_WARMUPS": ",".join(map(str, warmups)),
            "BENCH_INTERVALS_MS": ",".join(map(str, intervals_ms)),
            "BENCH_ACKS": ",".join(f"ack_{r}" for r in receivers),
            "BENCH_ACK_TIMEOUT_S": str(ack_timeout_s),
        },
        inputs={f"ack_{r}": {"source": f"{r}/done"} for r in receivers},
        outputs=("data",),
        writes_result=True,
    )
    recvs = tuple(
        NodeSpec(
            id=r,
            script=receiver_script,
            env={"BENCH_EXPECT": str(total)},
            inputs={"data": source},
            outputs=("done",),
            writes_result=True,
        )
        for r in receivers
    )
    return (send, *recvs)
