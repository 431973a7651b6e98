"""``dora topic list|echo|hz|info|pub``: the topics (outputs) of a running dataflow.

``list`` reads the descriptor the coordinator stored. ``echo``, ``hz`` and ``info``
receive the messages themselves, and ``pub`` sends some, which the daemons allow only
for a dataflow with ``_unstable_debug.publish_all_messages_to_zenoh: true`` (or
``debug.enable_debug_inspection: true``); see :mod:`dora_cli.topic_watch` and
:mod:`dora_cli.topic_inject`.

Topic selectors: none = every output; ``node`` = every output of that node;
``node/output`` = that output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.dataflow_query import dataflow_option
from dora_cli.errors import fail, reports_errors
from dora_cli.options import PathType, format_option
from dora_message.constants import MAX_INJECT_WAIT_S

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep

NO_DATA_HINT_AFTER = 5.0  # seconds without a message before echo suggests a reason


@click.group()
def topic() -> None:
    """Inspect the topics (outputs) of a running dataflow."""


@topic.command("list")
@dataflow_option
@format_option("Output format: a table, or one JSON object per line.")
@coordinator_options
@reports_errors
def list_topics(dataflow: str | None, fmt: str, target: Target) -> None:
    """List every output of a dataflow with the inputs subscribed to it."""
    import json

    from dora_cli.dataflow_query import ask, details_request
    from dora_message import coordinator_to_cli as rep
    from dora_message.topics import topic_subscribers

    details = ask(target, dataflow, "topic list", details_request, rep.DataflowDetails)
    rows = []
    for name, subscribers in topic_subscribers(details.descriptor).items():
        node, _, output = name.partition("/")
        rows.append({"node": node, "name": output, "subscribers": subscribers})
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    from dora_cli.table import print_table

    print_table(
        ("NODE", "NAME", "SUBSCRIBERS"),
        ((str(r["node"]), str(r["name"]), ", ".join(r["subscribers"]) or "-") for r in rows),
    )


# ---- receiving messages -------------------------------------------------------------


class Watched:
    """What the receiving and sending commands need: the dataflow, its topics, where its
    nodes run and how to reach their daemons. (A plain class: a dataclass would cost every
    ``dora topic … --help`` the dataclasses import, a NamedTuple ~0.2 ms of class set-up.)"""

    __slots__ = ("daemon_endpoints", "dataflow_id", "node_daemons", "subscribers", "topics", "wire")

    def __init__(
        self,
        dataflow_id: str,
        topics: list[str],
        wire: dict[str, tuple[str, str]],
        subscribers: dict[str, list[str]],
        node_daemons: dict[str, str],
        daemon_endpoints: dict[str, list[str]],
    ) -> None:
        self.dataflow_id = dataflow_id
        self.topics = topics
        self.wire = wire  # topic -> (node, the output id it sends on)
        self.subscribers = subscribers  # topic -> `node/input` reading it
        self.node_daemons = node_daemons  # node -> its daemon
        self.daemon_endpoints = daemon_endpoints  # daemon -> its zenoh endpoints

    @property
    def producer_endpoints(self) -> dict[str, list[str]]:
        """Node -> the zenoh endpoints of its daemon."""
        return {n: self.daemon_endpoints.get(d, []) for n, d in self.node_daemons.items()}


def debug_publishing(descriptor: Mapping[str, Any]) -> bool:
    """Whether the dataflow's daemons publish every message (the debug flags)."""
    for key in ("_unstable_debug", "debug"):
        debug = descriptor.get(key)
        if isinstance(debug, Mapping) and (
            debug.get("publish_all_messages_to_zenoh") or debug.get("enable_debug_inspection")
        ):
            return True
    return False


def select(available: Sequence[str], selectors: Sequence[str]) -> list[str]:
    """The topics named by ``selectors`` (``node`` or ``node/output``; none: all)."""
    if not selectors:
        return list(available)
    chosen: list[str] = []
    for selector in selectors:
        if "/" in selector:
            matches = [selector] if selector in available else []
        else:
            matches = [t for t in available if t.split("/", 1)[0] == selector]
        if not matches:
            raise click.ClickException(
                f"no topic `{selector}` in the dataflow. Available: {', '.join(available)}"
            )
        chosen += [t for t in matches if t not in chosen]
    return chosen


def watched_dataflow(
    target: Target,
    dataflow: str | None,
    selectors: Sequence[str],
    what: str,
    need_producers: bool = True,
) -> Watched:
    import asyncio

    from dora_cli.client import ControlClient
    from dora_cli.dataflow_query import resolve
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep
    from dora_message.topics import dataflow_nodes, topic_subscribers, wire_output

    async def go() -> tuple[rep.DataflowDetails, rep.DaemonList]:
        async with await ControlClient.connect(target) as client:
            ident = await resolve(client, dataflow, what)
            details = await client.request_as(req.GetDataflow(dataflow=ident), rep.DataflowDetails)
            daemons = await client.request_as(req.ListDaemons(), rep.DaemonList)
            return details, daemons

    details, daemons = asyncio.run(go())
    if details.summary.status.lower() != "running":
        fail(f"dataflow {details.summary.uuid} is not running ({details.summary.status})")
    if not debug_publishing(details.descriptor):
        fail(
            "topic inspection needs the dataflow to publish its messages: set "
            "`_unstable_debug: {publish_all_messages_to_zenoh: true}` (or "
            "`debug: {enable_debug_inspection: true}`) in the dataflow and start it again"
        )
    subscribers = topic_subscribers(details.descriptor)
    topics = select(list(subscribers), selectors)
    endpoints = {d.daemon_id: list(d.zenoh_endpoints) for d in daemons.daemons}
    node_daemons = {n.node_id: n.daemon_id for n in details.nodes if n.daemon_id}
    nodes = {str(n.get("id")): n for n in dataflow_nodes(details.descriptor)}
    wire = {}
    for name in topics:
        node, _, output = name.partition("/")
        wire[name] = (node, wire_output(nodes.get(node, {}), output))
    watched = Watched(details.summary.uuid, topics, wire, subscribers, node_daemons, endpoints)
    if need_producers:
        reachable = {n for n, e in watched.producer_endpoints.items() if e}
        missing = sorted({node for node, _ in wire.values()} - reachable)
        if missing:
            fail(f"no zenoh endpoint known for the daemon of {', '.join(missing)}")
    return watched


def open_watch(watched: Watched) -> Any:
    from dora_cli.topic_watch import TopicWatch

    watch = TopicWatch(watched.dataflow_id, watched.wire, watched.producer_endpoints)
    try:
        watch.open()
    except Exception as err:  # zenoh.ZError: a daemon's endpoint did not answer
        watch.close()
        fail(f"cannot subscribe to the dataflow's topics: {err}")
    return watch


topics_argument = click.argument("selectors", nargs=-1, metavar="[DATA]...")
duration_option = click.option(
    "--duration",
    type=click.FloatRange(min=1),
    help="Stop after this many seconds.",
)


@topic.command("echo")
@topics_argument
@dataflow_option
@format_option("Output format: `topic data=… metadata=…` lines, or JSON lines.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many messages.")
@duration_option
@coordinator_options
@reports_errors
def echo(
    selectors: tuple[str, ...],
    dataflow: str | None,
    fmt: str,
    count: int | None,
    duration: float | None,
    target: Target,
) -> None:
    """Print the messages of topics as they arrive (every output when none is given)."""
    from dora_cli.topic_view import echo_line
    from dora_cli.topic_watch import TopicClosed

    watched = watched_dataflow(target, dataflow, selectors, "topic echo")
    watch = open_watch(watched)
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    shown = 0
    hinted = False
    open_topics = set(watched.topics)
    try:
        while open_topics:
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                break
            item = watch.get(wait)
            if item is None:
                if not shown and not hinted and time.monotonic() - started > NO_DATA_HINT_AFTER:
                    hinted = True
                    click.echo(f"no message in {NO_DATA_HINT_AFTER:g} s yet", err=True)
                continue
            if isinstance(item, TopicClosed):
                open_topics.discard(item.topic)
                click.echo(f"Output {item.topic} closed", err=True)
                continue
            if item.error is not None:
                click.echo(f"invalid data on {item.topic}: {item.error}", err=True)
                continue
            received_ms = time.time_ns() // 1_000_000
            click.echo(echo_line(item.topic, item.array, item.parameters, received_ms, fmt))
            shown += 1
            if count is not None and shown >= count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        watch.close()


@topic.command("hz")
@topics_argument
@dataflow_option
@click.option(
    "--window",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    help="Sliding window in seconds.",
)
@duration_option
@coordinator_options
@reports_errors
def hz(
    selectors: tuple[str, ...],
    dataflow: str | None,
    window: float,
    duration: float | None,
    target: Target,
) -> None:
    """Measure how often topics publish: average, min, max and deviation of intervals.

    Shows a live table, with the recent rate and an interval histogram of the selected
    row (needs an interactive terminal; Up/Down select, q/Esc/Ctrl-C quit). With
    --duration, collect that long and print a tab-separated table instead.
    """
    from dora_cli.topic_view import RateWindow, hz_table
    from dora_cli.topic_watch import TopicMessage

    if duration is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            fail(
                "`dora topic hz` shows a live TUI, which needs an interactive terminal: "
                "pass --duration SECONDS to collect that long and print a table instead"
            )
        _hz_tui(target, dataflow, selectors, window)
        return
    watched = watched_dataflow(target, dataflow, selectors, "topic hz")
    rates = RateWindow(window_s=window, topics=watched.topics)
    watch = open_watch(watched)
    deadline = time.monotonic() + duration
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            item = watch.get(remaining)
            if isinstance(item, TopicMessage):
                rates.add(item.topic, item.received)
    except KeyboardInterrupt:
        pass
    finally:
        watch.close()
    click.echo(hz_table(rates.rows(time.monotonic())))


HZ_POLL_LIMIT = 10_000  # arrivals taken per redraw at most, so the screen keeps up


def _hz_tui(target: Target, dataflow: str | None, selectors: Sequence[str], window: float) -> None:
    """``topic hz`` without --duration: the TUI, fed by the watch between redraws."""
    from dora_cli.topic_watch import TopicMessage
    from dora_cli.tui.hz import run_hz
    from dora_cli.tui.hz_rows import HzState

    watched = watched_dataflow(target, dataflow, selectors, "topic hz")
    watch = open_watch(watched)

    def poll() -> list[tuple[str, float]]:
        # The zenoh callbacks stamp each message on arrival; taking them from the queue
        # here (never blocking) keeps the statistics on the app's thread, unlocked.
        arrivals: list[tuple[str, float]] = []
        while len(arrivals) < HZ_POLL_LIMIT and (item := watch.get(0)) is not None:
            if isinstance(item, TopicMessage):
                arrivals.append((item.topic, item.received))
        return arrivals

    try:
        run_hz(HzState(window, watched.topics), poll)
    finally:
        watch.close()


@topic.command("info")
@click.argument("selector", metavar="DATA")
@dataflow_option
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=5.0,
    show_default=True,
    help="How long to collect, in seconds.",
)
@coordinator_options
@reports_errors
def info(selector: str, dataflow: str | None, duration: float, target: Target) -> None:
    """Show one topic's type, publisher, subscribers, message count and bandwidth."""
    from dora_cli.topic_view import TopicSummary
    from dora_cli.topic_watch import TopicClosed

    if "/" not in selector:
        fail("Please specify exactly one topic (`node/output`)")
    watched = watched_dataflow(target, dataflow, [selector], "topic info")
    (name,) = watched.topics
    summary = TopicSummary(name, watched.subscribers.get(name, []))
    watch = open_watch(watched)
    started = time.monotonic()
    deadline = started + duration
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            item = watch.get(remaining)
            if isinstance(item, TopicClosed):
                break
            if item is not None and item.error is None:
                summary.add(item.array, item.size, item.received)
    except KeyboardInterrupt:
        pass
    finally:
        watch.close()
    click.echo(summary.report(time.monotonic() - started))


@topic.command("pub")
@click.argument("topic_name", metavar="TOPIC")
@click.argument("data", required=False)
@dataflow_option
@click.option(
    "--file",
    "file",
    type=PathType(exists=True, dir_okay=False),
    help="Read the JSON data from this file instead.",
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many times to send it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, max=MAX_INJECT_WAIT_S),
    default=10.0,
    show_default=True,
    help="Seconds a reader that does not listen yet (still starting) may take before "
    "the message counts as not delivered.",
)
@coordinator_options
@reports_errors
def pub(
    topic_name: str,
    data: str | None,
    dataflow: str | None,
    file: Path | None,
    count: int,
    timeout: float,
    target: Target,
) -> None:
    """Send JSON DATA on TOPIC (node/output) to the nodes that read it.

    A JSON list becomes an Arrow array of its items ('[1, 2, 3]' -> int64 [1, 2, 3]);
    any other value an array of that one value ('{"gain": 2}' -> a struct array).
    The readers get it as if the node had sent it. Each message waits until every
    reader got it (a reader still starting up: up to --timeout); one that did not
    reach every reader ends the command with exit code 1, naming the nodes it missed.
    """
    from dora_cli.topic_inject import (
        MessageTooLarge,
        TopicInjector,
        check_size,
        json_array,
        undelivered_text,
    )

    if (data is None) == (file is None):
        fail("give the data either as DATA or with --file, not both and not neither")
    text = data if data is not None else file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    try:
        array = json_array(text)
    except ValueError as err:
        fail(f"invalid JSON data: {err}")
    if "/" not in topic_name:
        fail("give one topic as `node/output`")
    watched = watched_dataflow(target, dataflow, [topic_name], "topic pub", need_producers=False)
    node, output = watched.wire[topic_name]
    try:
        check_size(output, array)
    except MessageTooLarge as err:
        fail(f"cannot publish to `{topic_name}`: {err}")
    readers = {r.split("/", 1)[0] for r in watched.subscribers.get(topic_name, [])}
    daemons = {d for n in readers if (d := watched.node_daemons.get(n))}
    if not daemons:
        fail(f"no node reads `{topic_name}`")
    injector = TopicInjector(
        watched.dataflow_id,
        node,
        output,
        {d: watched.daemon_endpoints.get(d, []) for d in sorted(daemons)},
        timeout,
    )

    def waiting(nodes: list[str]) -> None:
        listed = ", ".join(f"`{n}`" for n in nodes)
        click.echo(f"waiting up to {timeout:g} s for {listed} to listen on {topic_name}", err=True)

    failure = None
    try:
        injector.open()
        for i in range(count):
            result = injector.send(array, waiting)
            if not result.complete:
                failure = undelivered_text(topic_name, result, timeout, i, count)
                break
            if count > 1:
                click.echo(f"Published message {i + 1}/{count}", err=True)
    except Exception as err:  # zenoh.ZError or a daemon that never matched
        fail(f"cannot publish to `{topic_name}`: {err}")
    finally:
        injector.close()
    if failure is not None:
        fail(failure)
    if count == 1:
        click.echo(f"Published to {topic_name}", err=True)
