"""`dora start --hot-reload` against a real coordinator, daemon and operator runtime.

The test edits the operator file under the attached CLI and waits for the new code's
output in the streamed node log; the operator keeps its state (a counter in ``self``).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from dora_cli.client import CoordinatorError, Target, call
from dora_message import cli_to_coordinator as cli_req
from tests.cli.helpers import env_for
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon
from tests.procs import DoraProcess, run_dora

pytestmark = pytest.mark.integration

OPERATOR = """from dora import DoraStatus

GREETING = {greeting!r}


class Operator:
    def __init__(self):
        self.count = 0

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            self.count += 1
{extra}            print(f"{{GREETING}} {{self.count}}", flush=True)
        return DoraStatus.CONTINUE
"""

FAIL_ONCE = """            if not getattr(self, "failed_once", False):
                self.failed_once = True
                raise RuntimeError("first event after reload fails")
"""

FLOW = """nodes:
  - id: greeter
    operator:
      python: greeter.py
      inputs:
        tick: dora/timer/millis/50
"""


def operator_source(greeting: str, extra: str = "") -> str:
    return OPERATOR.format(greeting=greeting, extra=extra)


def count_in(line: str, greeting: str) -> int:
    match = re.search(rf"\b{greeting} (\d+)", line)
    assert match, line
    return int(match.group(1))


def replace_file(path: Path, text: str) -> None:
    """Save the way many editors do: write a temporary file, rename it over the original."""
    temporary = path.with_suffix(".py.tmp")
    temporary.write_text(text)
    temporary.replace(path)


@pytest.mark.timeout(120)
def test_hot_reload_swaps_the_code_and_keeps_the_state(tmp_path: Path, cluster: list[Proc]) -> None:
    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    procs.append(start_daemon(port))
    operator = tmp_path / "greeter.py"
    operator.write_text(operator_source("hello"))
    flow = tmp_path / "flow.yml"
    flow.write_text(FLOW)

    # neither --attach nor --detach: --hot-reload attaches
    cli = DoraProcess(["start", str(flow), "--hot-reload", "--name", "hot"], env=env)
    try:
        cli.wait_for_line(f"hot reload: watching {operator.resolve()} (`greeter/op`)")
        before = count_in(cli.wait_for_line("hello 3"), "hello")

        operator.write_text(operator_source("howdy"))
        cli.wait_for_line("reloading operator `greeter/op`")
        cli.wait_for_line("operator `op` reloaded")
        after = count_in(cli.wait_for_line("howdy "), "howdy")
        assert after > before  # the counter in `self` carried over

        # a syntax error: logged at ERROR with its traceback, the previous code keeps running
        replace_file(operator, "GREETING = 'broken' (\n")
        cli.wait_for_line("reloading operator `greeter/op`")
        failed = cli.wait_for_line("hot reload of operator `op` failed; the previous code")
        assert "ERROR" in failed, failed
        cli.wait_for_line("SyntaxError")
        still = count_in(cli.wait_for_line("howdy "), "howdy")
        assert still > after

        # the first event after a reload may fail without failing the node
        operator.write_text(operator_source("salut", FAIL_ONCE))
        cli.wait_for_line("operator `op` reloaded")
        first = cli.wait_for_line("failed on its first event after a hot reload; continuing")
        assert "ERROR" in first, first
        cli.wait_for_line("first event after reload fails")  # its traceback follows
        assert count_in(cli.wait_for_line("salut "), "salut") > still

        # the coordinator names what it cannot reach
        unknown = cli_req.ReloadOperator(dataflow="hot", node="nosuch", operator="op")
        with pytest.raises(CoordinatorError, match="has no node `nosuch`"):
            call(Target(port=port), unknown)

        cli.proc.send_signal(signal.SIGINT)  # graceful stop, as Ctrl-C
        assert cli.wait(timeout=30) == 0, cli.output  # no node failed along the way
    finally:
        cli.kill_tree()


@pytest.mark.timeout(30)
def test_hot_reload_refuses_detach(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yml"
    flow.write_text(FLOW)
    (tmp_path / "greeter.py").write_text(operator_source("hello"))
    result = run_dora(["start", str(flow), "--hot-reload", "--detach"], env=env_for(1))
    assert result.returncode == 2
    assert "`--hot-reload` needs `--attach`" in result.stderr
