"""Reading a dataflow's log files back: ``dora logs`` (via the daemon, or ``--local``).

Files are ``<out>/<dataflow-uuid>/log_<node>.jsonl`` plus rotated ``log_<node>.<n>.jsonl``
(see :mod:`dora_daemon.logs`). Records of every file are read oldest rotation first,
merged in time order, then filtered with :func:`dora_message.log_filter.filter_records`.
Lines that are not log records are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from dora_daemon.log_format import decode_record
from dora_daemon.logs import existing_log_files
from dora_message.cli_to_coordinator import LogQuery
from dora_message.common import LogMessage
from dora_message.log_filter import filter_records, sort_records

log = logging.getLogger(__name__)


def log_node_ids(out_dir: Path, dataflow_id: str) -> list[str]:
    """The node ids that have log files for the dataflow, sorted."""
    directory = Path(out_dir) / dataflow_id
    if not directory.is_dir():
        return []
    middles = {
        path.name[len("log_") : -len(".jsonl")]
        for path in directory.iterdir()
        if path.name.startswith("log_") and path.name.endswith(".jsonl")
    }
    nodes = set()
    for middle in middles:
        stem, dot, suffix = middle.rpartition(".")
        # `log_a.1.jsonl` is a rotation of node `a` only when `log_a.jsonl` exists too;
        # otherwise it is the current file of a node called `a.1`.
        if dot and suffix.isdigit() and stem in middles:
            continue
        nodes.add(middle)
    return sorted(nodes)


def read_node_records(out_dir: Path, dataflow_id: str, node_id: str) -> list[LogMessage]:
    """Every readable record of one node, file order (oldest rotation first)."""
    records = []
    for path in existing_log_files(out_dir, dataflow_id, node_id):
        try:
            with path.open("rb") as file:
                for line in file:
                    if not line.strip():
                        continue
                    try:
                        records.append(decode_record(line))
                    except msgspec.DecodeError:
                        continue  # a torn last line or a foreign line
        except OSError as error:
            log.warning("cannot read log file %s: %s", path, error)
    return records


def read_dataflow_logs(out_dir: Path, dataflow_id: str, query: LogQuery) -> list[LogMessage]:
    """The dataflow's records that pass ``query``, oldest first."""
    nodes = query.nodes if query.nodes is not None else log_node_ids(out_dir, dataflow_id)
    merged: list[LogMessage] = []
    for node_id in nodes:
        merged.extend(read_node_records(out_dir, dataflow_id, node_id))
    return filter_records(sort_records(merged), query)


def latest_dataflow_id(out_dir: Path) -> str | None:
    """The most recently modified dataflow directory under ``out_dir``, if any."""
    directory = Path(out_dir)
    if not directory.is_dir():
        return None
    candidates = [path for path in directory.iterdir() if path.is_dir()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime).name
