"""Shared by the missed-messages tests (Python and C senders): a 1 kHz sender, a receiver
that fails three times, and the checks that every message sent is either delivered or
counted as missed -- in the daemon's warnings, `dora node info` and `dora top --once`."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cli.helpers import env_for, started_uuid
from tests.coordinator.bounds import start_coordinator_any_port
from tests.coordinator.helpers import Proc, start_daemon, wait_until
from tests.procs import run_dora

RESTARTS = 3

FLOW = """
nodes:
  - id: pacer
    {sender}
    inputs:
      tick: dora/timer/millis/1
      done: forgetful/done
    outputs: [data]
  - id: forgetful
    {receiver}
    restart_policy: on-failure
    env:
      FAIL_RUNS: "{restarts}"
      ASK_FROM: "{ask_from}"  # the first incarnation that stops the sender
      PER_RUN: "500"
      LINGER: "0.3"  # ~300 messages queued and never read: counted when it leaves
    inputs:
      data:
        source: pacer/data
        queue_size: 100000  # no queue-policy drop: only the restarts lose messages
      keepalive: dora/timer/millis/500  # the node stays up after `data` closed
    outputs: [done]
"""

WARNING = re.compile(
    r"node `forgetful` missed (\d+) messages? on input `data` while restarting \(restart (\d+)\)"
)


def flow_text(
    sender: str,
    receiver: str = "path: nodes/forgetful.py",
    fail_runs: int = RESTARTS,
    ask_from: int | None = None,
) -> str:
    """The flow with ``sender`` as the pacer's ``path:`` line and ``receiver`` as the
    forgetful one's, whose first ``fail_runs`` incarnations fail and whose incarnation
    ``ask_from`` (default: the first that does not fail) stops the sender."""
    ask = fail_runs if ask_from is None else ask_from
    return FLOW.format(sender=sender, receiver=receiver, restarts=fail_runs, ask_from=ask)


@contextlib.contextmanager
def coordinator_and_daemon(workdir: Path) -> Iterator[tuple[Proc, dict[str, str]]]:
    """A coordinator (``--port 0``) and a daemon on loopback, killed by PID at the end;
    yields the daemon (its log has the warnings) and the environment for ``dora``."""
    procs: list[Proc] = []
    try:
        coordinator, port = start_coordinator_any_port()
        procs.append(coordinator)
        procs.append(start_daemon(port, cwd=workdir))
        yield procs[-1], env_for(port)
    finally:
        for proc in procs:
            proc.kill()


def node_log(flow: Path, uuid: str, node: str) -> str:
    path = flow.parent / "out" / uuid / f"log_{node}.jsonl"
    return path.read_text() if path.exists() else ""


@dataclass
class Outcome:
    sender_log: str
    sent: int
    delivered: list[int]  # per incarnation of the receiver
    warned: list[int]  # missed per restart, from the daemon's warnings
    info_json: dict[str, object]
    info_table: str
    top: dict[str, object]


def run_and_count(
    flow: Path,
    daemon: Proc,
    env: dict[str, str],
    restarts: int = RESTARTS,
    act: Callable[[str], None] | None = None,
) -> Outcome:
    """Start the flow, wait for its ``restarts`` restarts and the end of the sending, and
    read back every count; ``act(uuid)`` runs once it started. The dataflow is stopped
    on the way out."""
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env, cwd=flow.parent))
    try:
        if act is not None:
            act(uuid)
        return _count(flow, uuid, daemon, env, restarts)
    except (TimeoutError, EOFError) as err:  # say where it stood
        logs = {node: node_log(flow, uuid, node)[-3000:] for node in ("pacer", "forgetful")}
        daemon_tail = "\n".join(daemon.output(0.5)[-40:])
        raise AssertionError(f"{err}\nlogs: {logs}\ndaemon:\n{daemon_tail}") from err
    finally:
        run_dora(["stop", uuid, "--force"], env=env)  # after a failure (else a no-op)


def _count(flow: Path, uuid: str, daemon: Proc, env: dict[str, str], restarts: int) -> Outcome:
    """The counts, once the restarts and the sending are over."""
    warned: list[int] = []
    for restart in range(1, restarts + 1):
        line = daemon.wait_for_line("node `forgetful` missed", timeout=90)
        match = WARNING.search(line)
        assert match is not None, line
        assert int(match.group(2)) == restart, line
        warned.append(int(match.group(1)))

    def ended() -> tuple[str, str] | None:
        pacer, forgetful = node_log(flow, uuid, "pacer"), node_log(flow, uuid, "forgetful")
        return (pacer, forgetful) if "sent=" in pacer and "closed" in forgetful else None

    pacer, forgetful = wait_until(ended, timeout=90, what="the sender's end")
    sent = int(re.findall(r"pacer: sent=(\d+)", pacer)[-1])
    runs = re.findall(r"forgetful: run=(\d+) got=(\d+) (failing|stopped|closed)", forgetful)
    assert [int(run) for run, _got, _how in runs] == list(range(restarts + 1)), forgetful
    # (the Python receiver says; for any receiver, a queue drop would break the sum)
    assert "queue_drops=" not in forgetful or "queue_drops=0" in forgetful, forgetful
    total = sum(warned)

    def info() -> dict[str, object] | None:
        result = run_dora(["node", "info", "forgetful", "-d", uuid, "-f", "json"], env=env)
        assert result.returncode == 0, result.stderr
        facts = json.loads(result.stdout)
        return facts if facts["dropped_messages"] == {"data": total} else None

    info_json = wait_until(info, timeout=30, what=f"node info showing {total} dropped")
    table = run_dora(["node", "info", "forgetful", "-d", uuid], env=env)
    assert table.returncode == 0, table.stderr

    def top() -> dict[str, object] | None:
        result = run_dora(["top", "--once"], env=env)
        assert result.returncode == 0, result.stderr
        rows = [n for n in json.loads(result.stdout) if n["node_id"] == "forgetful"]
        metrics = rows[0]["metrics"] if rows else None
        return rows[0] if metrics and metrics["dropped_messages"] == {"data": total} else None

    top_row = wait_until(top, timeout=30, what=f"dora top showing {total} dropped")
    # a clean stop: the sender frees its context and exits (sanitizers report then)
    stopped = run_dora(["stop", uuid, "--grace-duration", "20s"], env=env, timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    return Outcome(
        sender_log=node_log(flow, uuid, "pacer"),
        sent=sent,
        delivered=[int(got) for _run, got, _how in runs],
        warned=warned,
        info_json=info_json,
        info_table=table.stdout,
        top=top_row,
    )


def check(outcome: Outcome, restarts: int = RESTARTS) -> None:
    """Nothing is lost without a count: delivered + missed == sent, and each view agrees."""
    assert len(outcome.warned) == restarts
    # 1 kHz: each restart misses messages (what it left unread, what came meanwhile)
    assert all(count > 0 for count in outcome.warned), outcome.warned
    assert sum(outcome.delivered) + sum(outcome.warned) == outcome.sent, outcome
    total = sum(outcome.warned)
    assert outcome.info_json["restarts"] == restarts
    assert re.search(rf"DROPPED MESSAGES\s+data: {total}\n", outcome.info_table), outcome.info_table
    metrics = outcome.top["metrics"]
    assert isinstance(metrics, dict) and metrics["restart_count"] == restarts
    # as in dora-rs, the restarting node keeps its outputs open: its receiver sees
    # NODE_RESTARTED each time, and its `done` input never closes
    # (until the end of the sending: the dataflow's stop closes inputs, as it should)
    before = outcome.sender_log.split("pacer: sent=")[0]
    assert before.count("pacer: NODE_RESTARTED forgetful") == restarts, before
    assert "pacer: INPUT_CLOSED" not in before, before
