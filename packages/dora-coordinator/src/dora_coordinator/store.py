"""Where the coordinator keeps dataflow records and runtime parameters (spec/runtime.md §14.3).

* ``memory`` (default): a dict, lost when the coordinator exits.
* ``sqlite[:PATH]`` (also spelled ``redb[:PATH]``, the seed's name for the persistent
  store): one SQLite file (stdlib ``sqlite3``), default
  ``<user data dir>/dora/coordinator.sqlite``. The file is created with mode 0600 in a
  directory with mode 0700. Every write is its own transaction, so a coordinator killed
  with SIGKILL loses nothing it had written.

Runtime parameters (``dora param``) live next to the records, keyed by (dataflow, node,
key); both backends check the limits of :mod:`dora_coordinator.params`, and deleting a
dataflow deletes its parameters.

A file that is not a dora store, or one of another schema version, is refused with a
:class:`StoreError` that says so; nothing is invented or silently dropped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import msgspec
import platformdirs

from dora_coordinator.errors import CoordinatorServerError
from dora_coordinator.params import ParamUsage, check_key, check_value, entry_bytes
from dora_message.common import NodeResult

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 64 * 1024 * 1024


class StoreError(CoordinatorServerError):
    """The store cannot be opened, read or written."""


class DataflowRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything the coordinator keeps about one dataflow across restarts.

    ``placement`` maps daemon ids to the node ids they run; ``generation`` grows by one
    with every write; times are seconds since the epoch. Frozen: a change is a new record
    (``msgspec.structs.replace``); only ``placement`` is edited in place when nodes move.
    """

    uuid: str
    status: str
    descriptor: dict[str, Any]
    name: str | None = None
    working_dir: str | None = None
    uv: bool = False
    error: str | None = None
    placement: dict[str, list[str]] = {}
    results: list[NodeResult] = []
    created_at: float = 0.0
    updated_at: float = 0.0
    generation: int = 0


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(DataflowRecord)


ParamRows = list[tuple[str, str, bytes]]  # (node id, key, JSON text)


class Store(Protocol):
    """What the coordinator needs from a store backend."""

    def put_dataflow(self, record: DataflowRecord) -> None:
        """Insert or replace a record."""
        ...

    def get_dataflow(self, uuid: str) -> DataflowRecord | None:
        """One record, or None."""
        ...

    def list_dataflows(self) -> list[DataflowRecord]:
        """Every record, oldest first."""
        ...

    def delete_dataflow(self, uuid: str) -> None:
        """Forget a record and its parameters (no error when it does not exist)."""
        ...

    def put_node_param(self, dataflow_id: str, node_id: str, key: str, value: bytes) -> None:
        """Insert or replace a parameter (``value``: JSON text); raises ParamError."""
        ...

    def get_node_param(self, dataflow_id: str, node_id: str, key: str) -> bytes | None:
        """One parameter's JSON text, or None."""
        ...

    def list_node_params(self, dataflow_id: str, node_id: str | None = None) -> ParamRows:
        """The parameters of one node (or of every node), sorted by node and key."""
        ...

    def delete_node_param(self, dataflow_id: str, node_id: str, key: str) -> bool:
        """Forget a parameter; False when it did not exist."""
        ...

    def param_usage(self, dataflow_id: str, node_id: str, key: str) -> ParamUsage:
        """What the dataflow's parameters take, for the bounds of ``check_room``."""
        ...

    def close(self) -> None:
        """Release the backend."""
        ...


class MemoryStore:
    """Records in a dict; nothing survives the process."""

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}
        self._params: dict[tuple[str, str, str], bytes] = {}

    def put_dataflow(self, record: DataflowRecord) -> None:
        """Insert or replace a record (stored encoded, so callers cannot alias it)."""
        self._records[record.uuid] = _encoder.encode(record)

    def get_dataflow(self, uuid: str) -> DataflowRecord | None:
        """One record, or None."""
        data = self._records.get(uuid)
        return None if data is None else _decoder.decode(data)

    def list_dataflows(self) -> list[DataflowRecord]:
        """Every record, oldest first."""
        records = [_decoder.decode(data) for data in self._records.values()]
        return sorted(records, key=lambda r: r.created_at)

    def delete_dataflow(self, uuid: str) -> None:
        """Forget a record and its parameters."""
        self._records.pop(uuid, None)
        for ident in [ident for ident in self._params if ident[0] == uuid]:
            del self._params[ident]

    def put_node_param(self, dataflow_id: str, node_id: str, key: str, value: bytes) -> None:
        """Insert or replace a parameter; raises ParamError past the limits."""
        check_key(key)
        check_value(value)
        self._params[(dataflow_id, node_id, key)] = bytes(value)

    def get_node_param(self, dataflow_id: str, node_id: str, key: str) -> bytes | None:
        """One parameter's JSON text, or None."""
        return self._params.get((dataflow_id, node_id, key))

    def list_node_params(self, dataflow_id: str, node_id: str | None = None) -> ParamRows:
        """The parameters of one node (or of every node), sorted by node and key."""
        return sorted(
            (node, key, value)
            for (uuid, node, key), value in self._params.items()
            if uuid == dataflow_id and node_id in (None, node)
        )

    def delete_node_param(self, dataflow_id: str, node_id: str, key: str) -> bool:
        """Forget a parameter; False when it did not exist."""
        return self._params.pop((dataflow_id, node_id, key), None) is not None

    def param_usage(self, dataflow_id: str, node_id: str, key: str) -> ParamUsage:
        """What the dataflow's parameters take (a scan: they are bounded)."""
        count = node_bytes = dataflow_bytes = 0
        for (uuid, node, name), value in self._params.items():
            if uuid != dataflow_id:
                continue
            size = entry_bytes(name, value)
            dataflow_bytes += size
            if node == node_id:
                count += 1
                node_bytes += size
        existing = self._params.get((dataflow_id, node_id, key))
        return ParamUsage(
            count,
            node_bytes,
            dataflow_bytes,
            None if existing is None else entry_bytes(key, existing),
        )

    def close(self) -> None:
        """Nothing to release."""


class SqliteStore:
    """Records in a SQLite file (one JSON document per dataflow)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        _prepare_file(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._init_schema()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open the dora store {self.path}: {error}") from None

    def _init_schema(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS dataflows ("
            "uuid TEXT PRIMARY KEY, created_at REAL NOT NULL, record BLOB NOT NULL)"
        )
        # added without a schema bump: older files simply get the (empty) table
        db.execute(
            "CREATE TABLE IF NOT EXISTS node_params (dataflow TEXT NOT NULL, "
            "node TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
            "PRIMARY KEY (dataflow, node, key))"
        )
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"the dora store {self.path} has schema version {row[0]}, this coordinator "
                f"needs {SCHEMA_VERSION}; move the file away or use another --store path"
            )

    def put_dataflow(self, record: DataflowRecord) -> None:
        """Insert or replace a record, committed before returning."""
        data = _encoder.encode(record)
        if len(data) > MAX_RECORD_BYTES:
            raise StoreError(f"dataflow record {record.uuid} is larger than 64 MiB")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO dataflows (uuid, created_at, record) VALUES (?, ?, ?)",
                (record.uuid, record.created_at, data),
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot write to the dora store {self.path}: {error}") from None

    def get_dataflow(self, uuid: str) -> DataflowRecord | None:
        """One record, or None."""
        row = self._query("SELECT uuid, record FROM dataflows WHERE uuid = ?", (uuid,))
        return self._decode(row[0]) if row else None

    def list_dataflows(self) -> list[DataflowRecord]:
        """Every readable record, oldest first; unreadable rows are reported and skipped."""
        rows = self._query("SELECT uuid, record FROM dataflows ORDER BY created_at", ())
        records = [self._decode(row) for row in rows]
        return [record for record in records if record is not None]

    def delete_dataflow(self, uuid: str) -> None:
        """Forget a record and its parameters, in one transaction."""
        self._write(
            ("DELETE FROM node_params WHERE dataflow = ?", (uuid,)),
            ("DELETE FROM dataflows WHERE uuid = ?", (uuid,)),
        )

    def put_node_param(self, dataflow_id: str, node_id: str, key: str, value: bytes) -> None:
        """Insert or replace a parameter, committed before returning; raises ParamError."""
        check_key(key)
        check_value(value)
        self._write(
            (
                "INSERT OR REPLACE INTO node_params (dataflow, node, key, value) "
                "VALUES (?, ?, ?, ?)",
                (dataflow_id, node_id, key, bytes(value)),
            )
        )

    def get_node_param(self, dataflow_id: str, node_id: str, key: str) -> bytes | None:
        """One parameter's JSON text, or None."""
        rows = self._query(
            "SELECT key, value FROM node_params WHERE dataflow = ? AND node = ? AND key = ?",
            (dataflow_id, node_id, key),
        )
        return bytes(rows[0][1]) if rows else None

    def list_node_params(self, dataflow_id: str, node_id: str | None = None) -> ParamRows:
        """The parameters of one node (or of every node), sorted by node and key."""
        try:
            rows = self._db.execute(
                "SELECT node, key, value FROM node_params WHERE dataflow = ? "
                "AND (? IS NULL OR node = ?) ORDER BY node, key",
                (dataflow_id, node_id, node_id),
            ).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the dora store {self.path}: {error}") from None
        return [(node, key, bytes(value)) for node, key, value in rows]

    def delete_node_param(self, dataflow_id: str, node_id: str, key: str) -> bool:
        """Forget a parameter; False when it did not exist."""
        try:
            cursor = self._db.execute(
                "DELETE FROM node_params WHERE dataflow = ? AND node = ? AND key = ?",
                (dataflow_id, node_id, key),
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot write to the dora store {self.path}: {error}") from None
        return cursor.rowcount > 0

    def param_usage(self, dataflow_id: str, node_id: str, key: str) -> ParamUsage:
        """What the dataflow's parameters take (keys counted in UTF-8 bytes)."""
        size = "LENGTH(CAST(key AS BLOB)) + LENGTH(value)"
        try:
            count, node_bytes = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM({size}), 0) FROM node_params "
                "WHERE dataflow = ? AND node = ?",
                (dataflow_id, node_id),
            ).fetchone()
            (dataflow_bytes,) = self._db.execute(
                f"SELECT COALESCE(SUM({size}), 0) FROM node_params WHERE dataflow = ?",
                (dataflow_id,),
            ).fetchone()
            existing = self._db.execute(
                f"SELECT {size} FROM node_params WHERE dataflow = ? AND node = ? AND key = ?",
                (dataflow_id, node_id, key),
            ).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the dora store {self.path}: {error}") from None
        return ParamUsage(
            int(count),
            int(node_bytes),
            int(dataflow_bytes),
            None if existing is None else int(existing[0]),
        )

    def _write(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        """Run ``statements`` in one transaction."""
        try:
            self._db.execute("BEGIN")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(f"cannot write to the dora store {self.path}: {error}") from None

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[str, bytes]]:
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the dora store {self.path}: {error}") from None

    def _decode(self, row: tuple[str, bytes]) -> DataflowRecord | None:
        uuid, data = row
        try:
            return _decoder.decode(data)
        except msgspec.DecodeError as error:
            log.error("dataflow record %s in %s is unreadable, skipped: %s", uuid, self.path, error)
            return None


def _prepare_file(path: Path) -> None:
    """Create the directory (0700) and the file (0600) before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # an existing file keeps nobody else's read bit


def default_store_path() -> Path:
    """``<user data dir>/dora/coordinator.sqlite``."""
    return Path(platformdirs.user_data_dir("dora")) / "coordinator.sqlite"


def parse_store_spec(spec: str) -> Path | None:
    """``memory`` -> None; ``sqlite``/``redb`` [``:PATH``] -> the file path.

    Raises ``ValueError`` for an unknown backend, an empty path or a path with ``..``.
    """
    backend, sep, path_text = spec.partition(":")
    backend = backend.strip().lower()
    if backend == "memory" and not sep:
        return None
    if backend not in ("sqlite", "redb"):
        raise ValueError(
            f"unknown store `{spec}`: expected memory, sqlite, sqlite:PATH, redb or redb:PATH"
        )
    if not sep:
        return default_store_path()
    if not path_text:
        raise ValueError(f"store `{spec}`: the path after `:` is empty")
    path = Path(path_text).expanduser()
    if ".." in path.parts:
        raise ValueError(f"store `{spec}`: the path must not contain `..`")
    return path.absolute()


def open_store(spec: str) -> Store:
    """Open the store named by ``--store`` (see :func:`parse_store_spec`)."""
    try:
        path = parse_store_spec(spec)
    except ValueError as error:
        raise StoreError(str(error)) from None
    if path is None:
        return MemoryStore()
    return SqliteStore(path)
