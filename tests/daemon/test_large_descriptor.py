"""A dataflow too large to hand each node whole in ``DORA_NODE_CONFIG`` (Linux caps one
environment string at 128 KiB and exec's whole environment at ~2 MB): every node's config
stays small, the whole descriptor is read from ``out/<uuid>/descriptor.json``, and what
cannot be started at all is an error naming the node, not E2BIG from exec."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import msgspec
import pytest
import yaml

import dora_node_api_c
from dora._config import whole_descriptor
from dora_daemon import forkserver, forkserver_launch
from dora_daemon.resolve import DESCRIPTOR_FILE, resolve_dataflow
from dora_message.config import INLINE_CONFIG_BYTES, NodeConfig, decode_node_config
from dora_message.constants import ENV_NODE_CONFIG
from dora_message.errors import DescriptorError
from tests.daemon.helpers import descriptor
from tests.procs import dataflow_leftovers, run_dora

DATAFLOW_ID = "0192f0c4-5b1e-7c3a-9d2e-1f2a3b4c5d6e"
PAD_NODES = 22
PAD_BYTES = 100 * 1024  # per padding node: its own env fits exec, all of them do not

SOURCE = """
import pyarrow as pa
from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("out", pa.array([sent]))
        sent += 1
        if sent == 3:
            break
"""

COUNTER = """
from dora import DoraStatus


class Operator:
    def on_event(self, event, send_output):
        if event["type"] == "INPUT":
            nodes = self.dataflow_descriptor["nodes"]
            print("operator sees", len(nodes), "nodes", flush=True)
            send_output("out", event["value"], event["metadata"])
        return DoraStatus.CONTINUE
"""

SINK = """
from dora import Node

node = Node()
every = [n["id"] for n in node.dataflow_descriptor()["nodes"]]
print("sink finds its entry", [i for i in every if i == "sink"], flush=True)
print("sink sees", len(every), "nodes", flush=True)
for event in node:
    if event["type"] == "INPUT":
        print("sink got", event["value"].to_pylist(), flush=True)
"""

PAD = """
import os
from dora import Node

node = Node()
assert len(os.environ["PAD"]) == int(os.environ["PAD_SIZE"])
"""


def _padding_nodes() -> list[dict]:
    return [
        {
            "id": f"pad{i}",
            "path": "pad.py",
            "env": {"PAD": "p" * PAD_BYTES, "PAD_SIZE": str(PAD_BYTES)},
        }
        for i in range(PAD_NODES)
    ]


def _chain(length: int) -> list[dict]:
    nodes = [{"id": "n0", "path": "node.py", "outputs": ["out"]}]
    for i in range(1, length):
        nodes.append(
            {
                "id": f"n{i}",
                "path": "node.py",
                "inputs": {"in": f"n{i - 1}/out"},
                "outputs": ["out"],
            }
        )
    return nodes


def _resolve(tmp_path: Path, nodes: list[dict], **root: object):
    (tmp_path / "node.py").touch()
    return resolve_dataflow(
        descriptor(nodes, **root),
        tmp_path,
        dataflow_id=DATAFLOW_ID,
        daemon_address="\0dora-daemon-test",
        host_env={"PATH": os.environ.get("PATH", "")},
        parent_pid=os.getpid(),
    )


def _configs(resolved) -> list[NodeConfig]:
    return [decode_node_config(n.env[ENV_NODE_CONFIG]) for n in resolved.nodes.values()]


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_dataflow_over_2_mb_runs_to_its_end(tmp_path: Path) -> None:
    for name, text in {"source.py": SOURCE, "counter.py": COUNTER, "sink.py": SINK}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "pad.py").write_text(PAD)
    nodes = [
        {"id": "source", "path": "source.py", "inputs": {"tick": "dora/timer/millis/20"}},
        {"id": "runtime", "operators": [{"id": "op", "python": "counter.py"}]},
        {"id": "sink", "path": "sink.py", "inputs": {"v": "runtime/op/out"}},
        *_padding_nodes(),
    ]
    nodes[0]["outputs"] = ["out"]
    nodes[1]["operators"][0].update(inputs={"in": "source/out"}, outputs=["out"])
    flow = tmp_path / "dataflow.yml"
    flow.write_text(yaml.safe_dump({"nodes": nodes}, width=1 << 30))
    assert flow.stat().st_size > 2 * 1024 * 1024

    result = run_dora(["run", str(flow)], cwd=tmp_path, timeout=110)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Argument list too long" not in output
    assert "sink got [2]" in output, output[-4000:]
    assert f"operator sees {len(nodes)} nodes" in output  # the whole descriptor, from the file
    assert "sink finds its entry ['sink']" in output
    assert f"sink sees {len(nodes)} nodes" in output  # Node.dataflow_descriptor() too

    (run_dir,) = (tmp_path / "out").iterdir()
    assert not dataflow_leftovers(run_dir.name)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    written = run_dir / DESCRIPTOR_FILE
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert [n["id"] for n in json.loads(written.read_bytes())["nodes"]] == [n["id"] for n in nodes]
    # beside the logs, nothing else was left in the run's folder
    others = {p.name for p in run_dir.iterdir()} - {DESCRIPTOR_FILE}
    assert others and all(name.startswith("log_") for name in others), others


def test_a_long_chain_keeps_every_config_small(tmp_path: Path) -> None:
    short = _configs(_resolve_dir(tmp_path, "short", 50))
    long = _configs(_resolve_dir(tmp_path, "long", 3000))
    assert all(c.descriptor_file == "" for c in short)  # small dataflows: unchanged
    assert all(len(c.dataflow_descriptor["nodes"]) == 50 for c in short)
    sizes = [len(msgspec.json.encode(c)) for c in long]
    assert max(sizes) < 2 * 1024  # a node's own connections, not the dataflow's 3000 nodes
    for config in long:
        assert [n["id"] for n in config.dataflow_descriptor["nodes"]] == [config.node_id]
    assert len({c.descriptor_file for c in long}) == 1  # written once, for every node
    assert len(whole_descriptor(long[1234])["nodes"]) == 3000


def _resolve_dir(tmp_path: Path, name: str, length: int):
    directory = tmp_path / name
    directory.mkdir()
    return _resolve(directory, _chain(length))


def test_a_small_dataflow_writes_no_descriptor_file(tmp_path: Path) -> None:
    resolved = _resolve(tmp_path, _chain(3))
    assert not (tmp_path / "out").exists()
    config = _configs(resolved)[0]
    assert whole_descriptor(config) is config.dataflow_descriptor


def test_the_trimmed_config_keeps_what_the_node_reads(tmp_path: Path) -> None:
    nodes = _chain(2000)
    nodes[5].update(restart_policy="on-failure", health_check_timeout=3.0)
    resolved = _resolve(tmp_path, nodes, exit_when_nodes_finish=True)
    config = decode_node_config(resolved.nodes["n5"].env[ENV_NODE_CONFIG])
    assert config.descriptor_file
    assert config.dataflow_descriptor["exit_when_nodes_finish"] is True
    (own,) = config.dataflow_descriptor["nodes"]
    assert own["restart_policy"] == "on-failure" and own["health_check_timeout"] == 3.0


def test_large_dataflows_are_forked_again(tmp_path: Path) -> None:
    # the config used to carry the whole descriptor, past what the fork server takes
    python = forkserver.sys.executable
    nodes = [{**n, "path": python, "args": f"-u {tmp_path / 'node.py'}"} for n in _chain(2000)]
    resolved = _resolve(tmp_path, nodes)
    env = forkserver_launch.server_env(resolved.nodes["n1"].env)
    assert all(forkserver.eligible(n, env) for n in resolved.nodes.values())


def test_a_node_whose_own_config_is_too_large_is_named(tmp_path: Path) -> None:
    nodes = _chain(3)
    # thousands of readers of one output: the node's own routes are over the bound
    nodes += [{"id": f"r{i}", "path": "node.py", "inputs": {"in": "n0/out"}} for i in range(3000)]
    with pytest.raises(DescriptorError) as caught:
        _resolve(tmp_path, nodes)
    message = str(caught.value)
    assert "node `n0`" in message and "KiB" in message and "readers of its outputs: 3001" in message


def test_an_env_value_too_large_for_exec_is_named(tmp_path: Path) -> None:
    nodes = _chain(2)
    nodes[1]["env"] = {"HUGE": "h" * (130 * 1024)}
    with pytest.raises(DescriptorError) as caught:
        _resolve(tmp_path, nodes)
    assert "node `n1`" in str(caught.value) and "`HUGE`" in str(caught.value)


def test_too_large_an_environment_in_all_is_named(tmp_path: Path) -> None:
    nodes = _chain(2)
    nodes[1]["env"] = {f"V{i}": "v" * (100 * 1024) for i in range(30)}
    with pytest.raises(DescriptorError) as caught:
        _resolve(tmp_path, nodes)
    assert "node `n1`" in str(caught.value)
    assert "command line and environment" in str(caught.value)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_dora_run_names_the_node_instead_of_e2big(tmp_path: Path) -> None:
    (tmp_path / "node.py").write_text("")
    nodes = _chain(2)
    nodes[1]["env"] = {"HUGE": "h" * (130 * 1024)}
    flow = tmp_path / "dataflow.yml"
    flow.write_text(yaml.safe_dump({"nodes": nodes}, width=1 << 30))
    result = run_dora(["run", str(flow)], cwd=tmp_path, timeout=50)
    assert result.returncode != 0
    assert "node `n1`" in result.stderr and "`HUGE`" in result.stderr, result.stderr
    assert "Argument list too long" not in result.stdout + result.stderr


def _write_descriptor(path: Path, mode: int = 0o600) -> NodeConfig:
    path.write_text('{"nodes": [{"id": "a"}]}')
    path.chmod(mode)
    return NodeConfig(
        dataflow_id=DATAFLOW_ID,
        node_id="a",
        daemon_address="\0d",
        listen_address="\0l",
        descriptor_file=str(path),
    )


def test_the_descriptor_file_is_read_when_it_is_ours(tmp_path: Path) -> None:
    config = _write_descriptor(tmp_path / "d.json")
    assert whole_descriptor(config) == {"nodes": [{"id": "a"}]}


def test_a_descriptor_file_others_can_read_is_refused(tmp_path: Path) -> None:
    config = _write_descriptor(tmp_path / "d.json", 0o644)
    with pytest.raises(RuntimeError, match="can be read by others"):
        whole_descriptor(config)


def test_a_symlinked_descriptor_file_is_refused(tmp_path: Path) -> None:
    _write_descriptor(tmp_path / "real.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    config = _write_descriptor(tmp_path / "other.json")
    config = msgspec.structs.replace(config, descriptor_file=str(tmp_path / "link.json"))
    with pytest.raises(RuntimeError, match="cannot read"):
        whole_descriptor(config)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_descriptor_file_of_another_user_is_refused(tmp_path: Path) -> None:
    config = _write_descriptor(tmp_path / "d.json")
    os.chown(tmp_path / "d.json", 65534, -1)
    with pytest.raises(RuntimeError, match="another user"):
        whole_descriptor(config)


QUITTER = Path(__file__).parents[1] / "c_api" / "nodes" / "c_quitter.c"
TALLY = Path(__file__).parents[1] / "fault" / "nodes" / "tally.py"


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_c_node_reads_its_trimmed_config(tmp_path: Path) -> None:
    """The C node API reads its restart policy from its own entry: restarted under
    ``on-failure`` with its reader's input kept open, as in a small dataflow."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    quitter = tmp_path / "c_quitter"
    command = [compiler, "-std=c11", *dora_node_api_c.cflags(), "-o", str(quitter)]
    subprocess.run(
        [*command, str(QUITTER), *dora_node_api_c.libs("node")],
        check=True,
        capture_output=True,
    )
    shutil.copy(TALLY, tmp_path / "tally.py")
    (tmp_path / "pad.py").write_text(PAD)
    nodes = [
        {
            "id": "quitter",
            "path": str(quitter),
            "inputs": {"tick": "dora/timer/millis/20"},
            "outputs": ["n"],
            "restart_policy": "on-failure",
            "max_restarts": 3,
        },
        {"id": "tally", "path": "tally.py", "inputs": {"n": "quitter/n"}},
        *_padding_nodes()[:4],
    ]
    flow = tmp_path / "dataflow.yml"
    flow.write_text(yaml.safe_dump({"nodes": nodes}, width=1 << 30))
    assert flow.stat().st_size > INLINE_CONFIG_BYTES

    result = run_dora(["run", str(flow)], cwd=tmp_path, timeout=110)
    out = result.stdout + result.stderr
    assert "quitter: clean end restart=2" in out, out[-4000:]
    assert f"tally: got 20 numbers {list(range(20))}" in out, out[-4000:]
    assert "tally: INPUT_CLOSED" not in out
    assert result.returncode == 0, out[-4000:]


def test_an_unwritable_out_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file where the log folder goes")
    with pytest.raises(DescriptorError, match="cannot be written to"):
        _resolve(tmp_path, _chain(2000))
