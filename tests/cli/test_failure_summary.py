"""A node that fails: its traceback printed once, and the failure summary pointing at the
user's own code (issue 15 item 7).

Real `dora run` and `dora start --attach` subprocesses, stdout and stderr captured apart,
plus the pure condensing of a traceback (:mod:`dora_cli.traceback_view`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from dora_cli.traceback_view import condensed, is_library
from tests.procs import run_dora

HEADER = "Traceback (most recent call last):"

TICKER = """
import pyarrow as pa
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        node.send_output("out", pa.array([1]))
        break  # one message is enough, and the run ends once the other node failed
"""

RAISES = """
from dora import Node


def handle(event):
    raise RuntimeError("boom in user code")


node = Node()
for event in node:
    if event["type"] == "INPUT":
        handle(event)
"""
RAISE_LINE = 6  # `raise RuntimeError(...)` in RAISES

BAD_DATA = """
from dora import Node


def send(node):
    node.send_output("out", {"not": "an array"})


node = Node()
for event in node:
    if event["type"] == "INPUT":
        send(node)
"""
SEND_LINE = 6  # `node.send_output(...)` in BAD_DATA

IMPORT_FAILS = """
import module_that_is_not_there
from dora import Node

node = Node()
"""

FLOW = """
nodes:
  - id: ticker
    path: ticker.py
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - out
  - id: failing
    path: node.py
    inputs:
      x: ticker/out
    outputs:
      - out
"""


def write(tmp_path: Path, node: str) -> Path:
    (tmp_path / "ticker.py").write_text(TICKER)
    (tmp_path / "node.py").write_text(node)
    flow = tmp_path / "flow.yml"
    flow.write_text(FLOW)
    return flow


def failed_run(tmp_path: Path, node: str) -> subprocess.CompletedProcess[str]:
    """`dora run` of the flow with ``node`` as the failing node; it must exit 1."""
    write(tmp_path, node)
    result = run_dora(["run", "flow.yml", "--stop-after", "60s"], cwd=tmp_path, timeout=80)
    assert result.returncode == 1, result.stdout + result.stderr
    return result


def summary_of(stderr: str) -> str:
    """The failure summary: from its `dataflow … failed:` line to the end."""
    match = re.search(r"^dataflow \S+ failed:$", stderr, re.M)
    assert match is not None, stderr
    return stderr[match.start() :]


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_a_failing_node_prints_its_traceback_once_and_the_summary_shows_its_frame(
    tmp_path: Path,
) -> None:
    result = failed_run(tmp_path, RAISES)
    # the node's own traceback: once, on stdout with the node's output, labelled STDERR
    assert result.stdout.count(HEADER) == 1, result.stdout
    assert f"STDERR failing: {HEADER}" in result.stdout
    # dora's summary on stderr, quoting the user's frame; no other copy of the traceback
    assert result.stderr.count(HEADER) == 1, result.stderr
    summary = summary_of(result.stderr)
    node_py = str(tmp_path / "node.py")
    assert "  node `failing` failed: exit code 1" in summary
    assert f'    |   File "{node_py}", line {RAISE_LINE}, in handle' in summary, summary
    assert "    | RuntimeError: boom in user code" in summary


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_the_summary_keeps_the_user_frame_below_library_frames(tmp_path: Path) -> None:
    result = failed_run(tmp_path, BAD_DATA)
    summary = summary_of(result.stderr)
    node_py = str(tmp_path / "node.py")
    assert f'    |   File "{node_py}", line {SEND_LINE}, in send' in summary, summary
    assert re.search(r"\| {3}\.\.\. \d+ frames? of dora or other libraries", summary), summary
    assert "    | TypeError: invalid `data` type dict" in summary
    assert "_arrow.py" not in summary  # the library's frames are counted, not quoted
    assert "_arrow.py" in result.stdout  # ... while the node's full output still has them


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_a_start_failure_is_not_repeated_by_every_waiting_node(tmp_path: Path) -> None:
    result = failed_run(tmp_path, IMPORT_FAILS)
    # the failing node's traceback: once in its output and once in the summary
    assert result.stdout.count("import module_that_is_not_there") == 1, result.stdout
    assert result.stderr.count("import module_that_is_not_there") == 1, result.stderr
    # the ticker, waiting for the start, learns why in one line (the exception), and the
    # summary names it as a consequence without quoting its output
    reason = "ModuleNotFoundError: No module named 'module_that_is_not_there'"
    told = rf"ticker: \S*Error: node failing exited .*: {re.escape(reason)}$"
    assert re.search(told, result.stdout, re.M), result.stdout
    summary = summary_of(result.stderr)
    assert "  node `ticker` failed: exit code 1 (cascading failure" in summary
    assert summary.rstrip().endswith("after node failing failed to start)"), summary


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_start_attach_splits_streams_and_quotes_the_user_frame(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    flow = write(tmp_path, RAISES)
    result = run_dora(["start", str(flow), "--attach"], cwd=tmp_path, env=coordinated, timeout=80)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count(HEADER) == 1, result.stdout
    assert result.stderr.count(HEADER) == 1, result.stderr
    summary = summary_of(result.stderr)
    assert f'File "{tmp_path / "node.py"}", line {RAISE_LINE}, in handle' in summary, summary


# ---- condensing a traceback (pure) -------------------------------------------------------

LIBRARY = "/venv/lib/python3.12/site-packages/dora/node.py"


def frame(path: str, line: int, name: str) -> list[str]:
    return [f'  File "{path}", line {line}, in {name}', "    code()", "    ^^^^^^"]


def test_library_frames_are_counted_and_carets_dropped() -> None:
    lines = [
        HEADER,
        *frame("/home/me/node.py", 10, "<module>"),
        *frame(LIBRARY, 400, "send_output"),
        *frame(LIBRARY, 50, "as_payload"),
        "TypeError: bad",
    ]
    assert condensed(lines, 10) == [
        HEADER,
        '  File "/home/me/node.py", line 10, in <module>',
        "    code()",
        "  ... 2 frames of dora or other libraries",
        "TypeError: bad",
    ]


def test_a_deep_recursion_keeps_the_last_user_frames() -> None:
    lines = [HEADER]
    for depth in range(20):
        lines += frame("/home/me/node.py", 100 + depth, "walk")
    lines.append("RecursionError: too deep")
    shown = condensed(lines, 10)
    assert shown[1] == "  ... 14 frames not shown"
    assert shown[2] == '  File "/home/me/node.py", line 114, in walk'
    assert shown[-1] == "RecursionError: too deep"


def test_only_the_last_traceback_of_a_chain_is_kept() -> None:
    lines = [
        HEADER,
        *frame("/home/me/a.py", 1, "first"),
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        HEADER,
        *frame("/home/me/b.py", 2, "second"),
        "ValueError: y",
    ]
    shown = condensed(lines, 10)
    assert shown[0] == HEADER and shown.count(HEADER) == 1
    assert shown[1] == '  File "/home/me/b.py", line 2, in second'
    assert shown[-1] == "ValueError: y"


def test_output_without_a_traceback_is_quoted_as_its_last_lines() -> None:
    lines = [f"line {n}" for n in range(30)]
    assert condensed(lines, 10) == lines[-10:]


def test_a_traceback_of_library_frames_only_keeps_the_innermost() -> None:
    lines = [HEADER, *frame(LIBRARY, 1, "outer"), *frame(LIBRARY, 2, "inner"), "OSError: x"]
    assert condensed(lines, 10) == [
        HEADER,
        "  ... 1 frame of dora or other libraries",
        f'  File "{LIBRARY}", line 2, in inner',
        "    code()",
        "OSError: x",
    ]


@pytest.mark.parametrize(
    ("path", "library"),
    [
        ("/home/me/robot/node.py", False),
        ("/usr/lib/python3/dist-packages/numpy/core.py", True),
        ("/opt/venv/lib/python3.11/site-packages/pyarrow/array.py", True),
        ("/usr/lib/python3.12/threading.py", True),
        ("<frozen importlib._bootstrap>", True),
    ],
)
def test_what_counts_as_library_code(path: str, library: bool) -> None:
    assert is_library(path) is library


def test_the_node_api_counts_as_library_code_wherever_it_is_installed() -> None:
    import dora.node

    assert is_library(dora.node.__file__)
