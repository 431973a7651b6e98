"""A bare WebSocket client over a plain socket, for tests that misbehave on purpose.

A library client reads (and answers pings) in the background; these tests need one that
does exactly what it is told: open the handshake and stay idle, send frames and never
read, or announce a frame larger than it ever sends.
"""

from __future__ import annotations

import base64
import os
import socket
import struct

TEXT = 0x1


class HandshakeRefused(Exception):
    """The server answered the upgrade with another status than 101."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body!r}")
        self.status = status
        self.body = body


class RawWebSocket:
    """One client connection; every method maps to what goes over the wire."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def open(cls, port: int, path: str, timeout: float = 10.0) -> RawWebSocket:
        """Connect to 127.0.0.1:port and upgrade; raises :class:`HandshakeRefused`."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                raise HandshakeRefused(0, head)
            head += chunk
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            header, _, body = head.partition(b"\r\n\r\n")
            length = _content_length(header)
            while len(body) < length:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                body += chunk
            sock.close()
            raise HandshakeRefused(status, body)
        return cls(sock)

    def send_header(self, length: int, opcode: int = TEXT) -> None:
        """Announce a final frame of ``length`` bytes (masked with a zero key)."""
        if length < 126:
            size = bytes([0x80 | length])
        elif length < 1 << 16:
            size = bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            size = bytes([0x80 | 127]) + struct.pack("!Q", length)
        self.sock.sendall(bytes([0x80 | opcode]) + size + b"\0\0\0\0")

    def send_text(self, text: str) -> None:
        """One complete text frame (a zero mask leaves the payload as it is)."""
        payload = text.encode()
        self.send_header(len(payload))
        self.sock.sendall(payload)

    def closed_by_peer(self, timeout: float) -> bool:
        """Whether the server ends the connection within ``timeout`` (frames are skipped)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True  # reset: closed all the same
        return True

    def close(self) -> None:
        """Drop the socket without a closing handshake."""
        self.sock.close()


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
