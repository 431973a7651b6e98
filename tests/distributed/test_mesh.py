"""The daemon's zenoh session in this process: the port it listens on and keeps."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from dora_daemon.bridge.mesh import Mesh, MeshError, listen_endpoint
from tests.distributed.helpers import listening_tcp_ports


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_the_session_reports_the_port_it_bound_and_keeps_it_on_reopen() -> None:
    async def scenario() -> None:
        before = set(listening_tcp_ports(os.getpid()))
        mesh = Mesh(listen_endpoint(None, "127.0.0.1", "127.0.0.1", 6013))
        try:
            await mesh.open("alpha", [])
            port = port_of(mesh.endpoint)
            assert mesh.endpoint == f"tcp/127.0.0.1:{port}" and port != 0
            assert set(listening_tcp_ports(os.getpid())) - before == {port}
            # a reopen (to dial a peer nobody dialed) listens where peers were told
            await asyncio.to_thread(mesh.close)
            await mesh.open("alpha", [])
            assert port_of(mesh.endpoint) == port
            assert set(listening_tcp_ports(os.getpid())) - before == {port}
        finally:
            mesh.close()

    asyncio.run(scenario())


def test_two_sessions_on_port_0_find_each_other_over_ipv6() -> None:
    async def scenario() -> None:
        alpha = Mesh(listen_endpoint("::1", None, "127.0.0.1", 6013))
        beta = Mesh(listen_endpoint("::1", None, "127.0.0.1", 6013))
        try:
            await alpha.open("alpha", [])
            await beta.open("beta", [alpha.endpoint])
            assert alpha.endpoint.startswith("tcp/[::1]:") and alpha.endpoint != beta.endpoint
            await beta.ensure_peers({"alpha": [alpha.endpoint]}, timeout=10.0)
            await alpha.ensure_peers({"beta": [beta.endpoint]}, timeout=10.0)
        finally:
            alpha.close()
            beta.close()

    asyncio.run(scenario())


def test_a_taken_explicit_port_fails_naming_the_endpoint() -> None:
    async def scenario(endpoint: str) -> None:
        mesh = Mesh(endpoint)
        try:
            with pytest.raises(MeshError, match=f"cannot open the zenoh session on {endpoint}"):
                await mesh.open("alpha", [])
        finally:
            mesh.close()

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        asyncio.run(scenario(f"tcp/127.0.0.1:{port}"))
