"""The file watcher of ``dora start --attach --hot-reload``.

Polls the Python operator files of the dataflow (``stat`` every 0.3 s, no watcher
dependency) and, when one changed (see :class:`dora_cli.reload_watch.ChangeDetector`),
sends ``ReloadOperator`` to the coordinator, which forwards it to the daemon running the
node; the operator runtime then re-imports the file. The CLI prints
``reloading operator `node/op``` for each request; a request the coordinator refuses is
printed too and watching goes on. Whether the new code loaded shows in the node's log.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from dora_cli.client import ControlClient
from dora_cli.reload_watch import ChangeDetector, Fingerprint, WatchedOperator
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message.errors import DoraError

POLL_INTERVAL = 0.3


def fingerprint(path: Path) -> Fingerprint | None:
    """The file's current fingerprint, or None when it is missing or unreadable."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return Fingerprint(mtime_ns=stat.st_mtime_ns, size=stat.st_size, inode=stat.st_ino)


def fingerprints(paths: Iterable[Path]) -> dict[Path, Fingerprint | None]:
    """One poll of every watched file."""
    return {path: fingerprint(path) for path in paths}


def baseline(operators: list[WatchedOperator]) -> ChangeDetector:
    """A detector whose baseline is the files as they are now (before the start)."""
    detector = ChangeDetector(operators)
    detector.start(fingerprints(detector.paths()))
    return detector


async def watch_and_reload(
    client: ControlClient,
    uuid: str,
    detector: ChangeDetector,
    note: Callable[[str], None],
    interval: float = POLL_INTERVAL,
) -> None:
    """Poll until cancelled, sending a reload request for every changed operator file."""
    paths = detector.paths()
    while True:
        await asyncio.sleep(interval)
        for watched in detector.poll(fingerprints(paths)):
            note(f"reloading operator `{watched.label}`")
            request = req.ReloadOperator(
                dataflow=uuid, node=watched.node, operator=watched.operator
            )
            try:
                await client.request_as(request, rep.OperatorReloading)
            except DoraError as error:
                note(f"could not reload operator `{watched.label}`: {error}")
