"""Runtime parameters on the coordinator: limits, both stores, request handling (no I/O)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dora_coordinator.param_ops import dataflow_nodes, param_request
from dora_coordinator.params import MAX_KEY_BYTES, MAX_VALUE_BYTES, ParamError, check_key
from dora_coordinator.state import CoordinatorState, Dataflow
from dora_coordinator.store import DataflowRecord, MemoryStore, SqliteStore, Store, StoreError
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield opened
    opened.close()


# ---- limits ------------------------------------------------------------------------


def test_key_limits() -> None:
    check_key("k" * MAX_KEY_BYTES)
    check_key("é" * (MAX_KEY_BYTES // 2))  # 256 bytes of UTF-8
    with pytest.raises(ParamError, match=r"^param key too long \(max 256 bytes\)$"):
        check_key("k" * (MAX_KEY_BYTES + 1))
    with pytest.raises(ParamError, match=r"^param key too long"):
        check_key("é" * (MAX_KEY_BYTES // 2) + "k")
    with pytest.raises(ParamError, match=r"^param key must not contain null bytes$"):
        check_key("a\0b")


def test_store_enforces_limits(store: Store) -> None:
    fits = b'"' + b"x" * (MAX_VALUE_BYTES - 2) + b'"'
    store.put_node_param("df", "n", "big", fits)
    assert store.get_node_param("df", "n", "big") == fits
    with pytest.raises(ParamError, match=r"^param value too large \(max 65536 bytes\)$"):
        store.put_node_param("df", "n", "big", b'"' + b"x" * (MAX_VALUE_BYTES - 1) + b'"')
    with pytest.raises(ParamError, match=r"^param key too long \(max 256 bytes\)$"):
        store.put_node_param("df", "n", "k" * 257, b"1")
    with pytest.raises(ParamError, match=r"^param key must not contain null bytes$"):
        store.put_node_param("df", "n", "a\0", b"1")
    with pytest.raises(ParamError, match=r"^invalid JSON value$"):
        store.put_node_param("df", "n", "k", b"{nope")
    assert store.get_node_param("df", "n", "big") == fits  # the failed writes changed nothing


# ---- stores --------------------------------------------------------------------------


def test_put_get_list_delete(store: Store) -> None:
    store.put_node_param("df", "b", "z", b"1")
    store.put_node_param("df", "a", "y", b'"text"')
    store.put_node_param("df", "a", "x", b'{"k":[1,2]}')
    store.put_node_param("other", "a", "x", b"2")
    store.put_node_param("df", "a", "x", b"3")  # replaces
    assert store.get_node_param("df", "a", "x") == b"3"
    assert store.get_node_param("df", "a", "missing") is None
    assert store.list_node_params("df", "a") == [("a", "x", b"3"), ("a", "y", b'"text"')]
    assert store.list_node_params("df") == [
        ("a", "x", b"3"),
        ("a", "y", b'"text"'),
        ("b", "z", b"1"),
    ]
    assert store.delete_node_param("df", "a", "x") is True
    assert store.delete_node_param("df", "a", "x") is False
    assert store.list_node_params("df", "a") == [("a", "y", b'"text"')]


def test_deleting_a_dataflow_deletes_its_params(store: Store) -> None:
    store.put_dataflow(DataflowRecord(uuid="df", status="Succeeded", descriptor={}))
    store.put_node_param("df", "a", "x", b"1")
    store.put_node_param("keep", "a", "x", b"2")
    store.delete_dataflow("df")
    assert store.list_node_params("df") == []
    assert store.list_node_params("keep") == [("a", "x", b"2")]


def test_sqlite_params_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SqliteStore(path)
    first.put_node_param("df", "a", "x", b'{"deep":[true,null]}')
    first.close()
    second = SqliteStore(path)
    try:
        assert second.get_node_param("df", "a", "x") == b'{"deep":[true,null]}'
    finally:
        second.close()


def test_sqlite_write_failure_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    store.close()
    with pytest.raises(StoreError):
        store.put_node_param("df", "a", "x", b"1")


# ---- requests (the daemon side is a stub) ----------------------------------------------


class FakeLink:
    def __init__(self, error: str | None = None) -> None:
        self.daemon_id = "d1"
        self.sent: list[to_daemon.DaemonCommand] = []
        self.error = error

    async def command(self, command: to_daemon.DaemonCommand, timeout: float = 30.0) -> Any:
        from dora_coordinator.links import DaemonCommandError

        self.sent.append(command)
        if self.error is not None:
            raise DaemonCommandError(self.error)
        return None


class FakeOps:
    def __init__(self, store: Store, status: str, link: FakeLink | None) -> None:
        self.state = CoordinatorState(store)
        record = DataflowRecord(
            uuid="df-1",
            status=status,
            name="app",
            descriptor={"nodes": [{"id": "cam"}, {"id": "det"}]},
            placement={"d1": ["cam", "det"]},
        )
        self.state.dataflows["df-1"] = Dataflow(record)
        self.links = {} if link is None else {"d1": link}


def ask(ops: FakeOps, body: req.ParamRequest) -> rep.ControlReply:
    return asyncio.run(param_request(ops.state, ops.links, body))  # type: ignore[arg-type]


def test_set_get_list_delete_running_dataflow(store: Store) -> None:
    link = FakeLink()
    ops = FakeOps(store, "Running", link)
    assert isinstance(
        ask(ops, req.SetParam(dataflow="app", node="cam", key="fps", value_json="30")),
        rep.ParamStored,
    )
    ask(ops, req.SetParam(dataflow="df-1", node="cam", key="mode", value_json='{"a":1}'))
    assert link.sent[0] == to_daemon.SetParam(
        dataflow_id="df-1", node_id="cam", key="fps", value_json="30"
    )
    assert ask(ops, req.GetParam(dataflow="app", node="cam", key="fps")) == rep.ParamValue(
        key="fps", value=30
    )
    listing = ask(ops, req.ListParams(dataflow="app", node="cam"))
    assert listing == rep.ParamList(params={"fps": 30, "mode": {"a": 1}})
    assert ask(ops, req.ListParams(dataflow="app", node="det")) == rep.ParamList(params={})
    assert isinstance(
        ask(ops, req.DeleteParam(dataflow="app", node="cam", key="fps")), rep.ParamRemoved
    )
    assert link.sent[-1] == to_daemon.DeleteParam(dataflow_id="df-1", node_id="cam", key="fps")
    with pytest.raises(ParamError, match=r"^param not found: fps$"):
        ask(ops, req.GetParam(dataflow="app", node="cam", key="fps"))
    with pytest.raises(ParamError, match=r"^param not found: fps$"):
        ask(ops, req.DeleteParam(dataflow="app", node="cam", key="fps"))


def test_unknown_node_and_dataflow(store: Store) -> None:
    ops = FakeOps(store, "Running", FakeLink())
    with pytest.raises(ParamError, match=r"^node `nope` not found in dataflow `df-1`$"):
        ask(ops, req.SetParam(dataflow="app", node="nope", key="k", value_json="1"))
    with pytest.raises(Exception, match="no dataflow with UUID or running name `ghost`"):
        ask(ops, req.ListParams(dataflow="ghost", node="cam"))


def test_finished_dataflow_is_only_persisted(store: Store) -> None:
    link = FakeLink()
    ops = FakeOps(store, "Succeeded", link)
    ask(ops, req.SetParam(dataflow="df-1", node="det", key="k", value_json="[1]"))
    assert link.sent == []
    assert store.get_node_param("df-1", "det", "k") == b"[1]"


def test_failed_delivery_keeps_the_value(store: Store) -> None:
    ops = FakeOps(store, "Running", FakeLink(error="node `cam` not connected"))
    with pytest.raises(ParamError, match="not delivered to node `cam`: node `cam` not connected"):
        ask(ops, req.SetParam(dataflow="app", node="cam", key="k", value_json="1"))
    assert store.get_node_param("df-1", "cam", "k") == b"1"
    disconnected = FakeOps(store, "Running", None)
    with pytest.raises(ParamError, match="daemon d1 of node `cam` is not connected"):
        ask(disconnected, req.DeleteParam(dataflow="app", node="cam", key="k"))
    assert store.get_node_param("df-1", "cam", "k") is None


def test_dataflow_nodes_come_from_placement_and_descriptor() -> None:
    record = DataflowRecord(
        uuid="u", status="Running", descriptor={"nodes": [{"id": "a"}]}, placement={"d": ["b"]}
    )
    assert dataflow_nodes(Dataflow(record)) == {"a", "b"}
