"""``dora build``: build commands run per node with its working dir and env, stop on failure."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from dora_daemon.build import (
    BuildError,
    build_dataflow,
    build_lines,
    plan_build,
    uv_rewrite,
)
from dora_message.descriptor import Descriptor, HostEnv, Node, Operator


def run_build(descriptor: Descriptor, base_dir: Path, **kwargs: object) -> list[tuple[str, str]]:
    output: list[tuple[str, str]] = []
    asyncio.run(
        build_dataflow(
            descriptor,
            base_dir,
            on_output=lambda node, line: output.append((node, line)),
            **kwargs,  # type: ignore[arg-type]
        )
    )
    return output


def test_build_runs_each_line_in_order_and_streams_output(tmp_path: Path) -> None:
    descriptor = Descriptor(
        nodes=[
            Node(id="a", path="a.py", build="echo one > a.txt\n\n# comment\necho two >> a.txt"),
            Node(id="b", path="b.py", build="echo hello from b\necho oops >&2"),
            Node(id="c", path="c.py"),
        ]
    )
    output = run_build(descriptor, tmp_path)
    assert (tmp_path / "a.txt").read_text() == "one\ntwo\n"
    assert output == [("b", "hello from b"), ("b", "oops")]


def test_build_uses_working_dir_and_git_working_dirs(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    descriptor = Descriptor(
        nodes=[
            Node(id="local", path="x", build="pwd"),
            Node(id="from-git", path="y", build="pwd"),
        ]
    )
    output = run_build(descriptor, tmp_path, working_dirs={"from-git": clone})
    assert output == [("local", str(tmp_path)), ("from-git", str(clone))]


def test_build_env_layers_node_over_global_over_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_ONLY", "host")
    monkeypatch.setenv("HOST_VAR", "from-host")
    monkeypatch.setenv("X", "host-x")
    descriptor = Descriptor(
        env={"X": "global", "G": "g"},
        nodes=[
            Node(
                id="n",
                path="n",
                env={
                    "X": "node",
                    "FLAG": True,
                    "NUM": 1.0,
                    "HALF": 0.5,
                    "H": HostEnv(dora_env="HOST_VAR"),
                },
                build='echo "$X $G $FLAG $NUM $HALF $H $HOST_ONLY"',
            )
        ],
    )
    assert run_build(descriptor, tmp_path) == [("n", "node g true 1 0.5 from-host host")]


def test_failure_names_node_and_command_and_stops(tmp_path: Path) -> None:
    descriptor = Descriptor(
        nodes=[
            Node(
                id="camera",
                path="c",
                build="echo step one\necho broken >&2; exit 3\ntouch never.txt",
            ),
            Node(id="later", path="l", build="touch later.txt"),
        ]
    )
    with pytest.raises(BuildError) as caught:
        run_build(descriptor, tmp_path)
    err = caught.value
    assert err.node_id == "camera"
    assert err.command == "echo broken >&2; exit 3"
    assert err.exit_code == 3
    assert err.output_tail == ["broken"]  # the tail of the failing command only
    assert "node `camera`" in str(err) and "`echo broken >&2; exit 3`" in str(err)
    assert "exited with code 3" in str(err) and "broken" in str(err)
    assert not (tmp_path / "never.txt").exists()
    assert not (tmp_path / "later.txt").exists()


def test_output_tail_keeps_last_lines(tmp_path: Path) -> None:
    descriptor = Descriptor(
        nodes=[Node(id="n", path="n", build="for i in $(seq 1 50); do echo line-$i; done; false")]
    )
    with pytest.raises(BuildError) as caught:
        run_build(descriptor, tmp_path)
    assert caught.value.output_tail == [f"line-{i}" for i in range(31, 51)]


def test_missing_working_dir_is_a_build_error(tmp_path: Path) -> None:
    descriptor = Descriptor(nodes=[Node(id="n", path="n", build="true")])
    with pytest.raises(BuildError, match="could not start") as caught:
        run_build(descriptor, tmp_path, working_dirs={"n": tmp_path / "missing"})
    assert caught.value.exit_code is None


def test_operator_builds_run_and_name_the_operator(tmp_path: Path) -> None:
    ok = Descriptor(
        nodes=[Node(id="rt", operator=Operator(id="det", python="d.py", build="echo op"))]
    )
    assert run_build(ok, tmp_path) == [("rt", "op")]
    failing = Descriptor(
        nodes=[
            Node(
                id="rt",
                operators=[
                    Operator(id="first", python="a.py"),
                    Operator(id="second", python="b.py", build="exit 1"),
                ],
            )
        ]
    )
    with pytest.raises(BuildError, match=r"operator `second`") as caught:
        run_build(failing, tmp_path)
    assert caught.value.operator_id == "second"


def test_build_lines_join_continuations_and_skip_comments() -> None:
    text = "  cargo build \\\n   --release\n# note\n\npip install x\n"
    assert build_lines(text) == ["cargo build --release", "pip install x"]


@pytest.mark.parametrize(
    ("line", "rewritten"),
    [
        ("pip install -r requirements.txt", "uv pip install -r requirements.txt"),
        ("pip3 install numpy", "uv pip install numpy"),
        ("python -m pip install -e .", "uv pip install -e ."),
        ("pip uninstall -y foo", "uv pip uninstall -y foo"),
        ("pipx install foo", "pipx install foo"),
        ("echo pip install", "echo pip install"),
        ("pip installer", "pip installer"),
        ("cargo build", "cargo build"),
    ],
)
def test_uv_rewrite(line: str, rewritten: str) -> None:
    assert uv_rewrite(line) == rewritten


def test_plan_rewrites_pip_only_with_uv(tmp_path: Path) -> None:
    descriptor = Descriptor(
        nodes=[Node(id="n", path="n.py", build="pip install -r requirements.txt\nmake")]
    )
    plain = [step.command for step in plan_build(descriptor, tmp_path)]
    uv = [step.command for step in plan_build(descriptor, tmp_path, uv=True)]
    assert plain == ["pip install -r requirements.txt", "make"]
    assert uv == ["uv pip install -r requirements.txt", "make"]


def test_uv_build_runs_uv_pip(tmp_path: Path) -> None:
    # A stand-in `uv` on the node's PATH shows what would run, without any network.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_uv = bin_dir / "uv"
    fake_uv.write_text('#!/bin/sh\necho "fake-uv $*"\n')
    fake_uv.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    descriptor = Descriptor(
        nodes=[Node(id="n", path="n.py", env={"PATH": path}, build="pip install -r req.txt")]
    )
    assert run_build(descriptor, tmp_path, uv=True) == [("n", "fake-uv pip install -r req.txt")]


def test_uv_missing_fails_before_running_anything(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    descriptor = Descriptor(
        nodes=[
            Node(id="first", path="f", build="touch first.txt"),
            Node(id="n", path="n.py", env={"PATH": str(empty)}, build="pip install x"),
        ]
    )
    with pytest.raises(BuildError, match="needs `uv`"):
        run_build(descriptor, tmp_path, uv=True)
    assert not (tmp_path / "first.txt").exists()


@pytest.mark.timeout(30)
def test_cancelling_a_build_kills_its_process_group(tmp_path: Path) -> None:
    descriptor = Descriptor(nodes=[Node(id="n", path="n", build="sleep 60 & echo $!; wait")])
    pids: list[int] = []

    async def scenario() -> None:
        started = asyncio.Event()

        def on_output(node: str, line: str) -> None:
            pids.append(int(line))
            started.set()

        task = asyncio.create_task(build_dataflow(descriptor, tmp_path, on_output=on_output))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    [sleeper] = pids
    assert _gone_within(sleeper, 5.0), "the build's child process survived the cancellation"


def _gone_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` ends (exits, or is a zombie awaiting its new parent) before the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return False
