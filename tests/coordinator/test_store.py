"""The coordinator stores: memory and SQLite, persistence, permissions, bad files."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from dora_coordinator.store import (
    DataflowRecord,
    MemoryStore,
    SqliteStore,
    StoreError,
    open_store,
    parse_store_spec,
)
from dora_message.common import NodeResult


def record(uuid: str, created_at: float, status: str = "Running") -> DataflowRecord:
    return DataflowRecord(
        uuid=uuid,
        status=status,
        descriptor={"nodes": [{"id": "a", "path": "a.py"}]},
        name=f"df-{uuid}",
        placement={"m1": ["a"]},
        results=[NodeResult(node_id="a", ok=True, exit_code=0)],
        created_at=created_at,
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    backend = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield backend
    backend.close()


def test_put_get_list_delete(store) -> None:  # type: ignore[no-untyped-def]
    store.put_dataflow(record("b", 2.0))
    store.put_dataflow(record("a", 1.0))
    assert [r.uuid for r in store.list_dataflows()] == ["a", "b"]
    got = store.get_dataflow("a")
    assert got == record("a", 1.0)
    got.placement["m1"].append("b")  # the store hands out copies
    assert store.get_dataflow("a").placement == {"m1": ["a"]}
    store.put_dataflow(record("a", 1.0, status="Succeeded"))
    assert store.get_dataflow("a").status == "Succeeded"
    store.delete_dataflow("a")
    store.delete_dataflow("missing")
    assert store.get_dataflow("a") is None
    assert [r.uuid for r in store.list_dataflows()] == ["b"]


def test_sqlite_survives_reopen_with_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "coordinator.sqlite"
    first = SqliteStore(path)
    first.put_dataflow(record("x", 5.0))
    # no close(): a killed coordinator never closes its store
    second = SqliteStore(path)
    assert second.get_dataflow("x") == record("x", 5.0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    second.close()
    first.close()


def test_sqlite_tightens_an_existing_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    SqliteStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_foreign_file_and_other_schema_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the dora store"):
        SqliteStore(garbage)
    other = tmp_path / "other.db"
    SqliteStore(other).close()
    with sqlite3.connect(other) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(other)


def test_unreadable_row_is_skipped_not_invented(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    store.put_dataflow(record("good", 1.0))
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO dataflows VALUES ('bad', 2.0, ?)", (b"{not json",))
    assert [r.uuid for r in store.list_dataflows()] == ["good"]
    store.close()


def test_store_specs(tmp_path: Path) -> None:
    assert parse_store_spec("memory") is None
    assert parse_store_spec("sqlite:/tmp/x.db") == Path("/tmp/x.db")
    assert parse_store_spec("redb:/tmp/y.redb") == Path("/tmp/y.redb")
    assert parse_store_spec("redb").name == "coordinator.sqlite"
    for bad in ("postgres", "sqlite:", "sqlite:/a/../b.db", "memory:x"):
        with pytest.raises(ValueError):
            parse_store_spec(bad)
    assert isinstance(open_store("memory"), MemoryStore)
    opened = open_store(f"redb:{tmp_path / 'r.db'}")
    assert isinstance(opened, SqliteStore)
    opened.close()
    with pytest.raises(StoreError, match="unknown store"):
        open_store("nope")
