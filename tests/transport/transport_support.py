"""Helpers of the transport tests: a misbehaving loopback HTTP server.

Imported as `transport_support` (not `conftest`, whose name other test folders share).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import attrs

Trickle = Literal["body", "headers", "none"]

PERSON = {
    "id": 1,
    "uuid": "00000000-0000-0000-0000-000000000001",
    "name": "user0@example.com",
    "distinct_ids": ["user-0"],
    "properties": {"email": "user0@example.com"},
    "created_at": "2026-01-02T03:04:05Z",
    "last_seen_at": None,
}


@attrs.define
class SlowServer:
    """What the server was asked, for the test's assertions."""

    url: str
    requests: int = 0
    lock: threading.Lock = attrs.field(factory=threading.Lock)


def _answer(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@contextmanager
def slow_server(
    trickle: Trickle, interval: float, *, body: bytes | None = None, slow_requests: int = 1_000_000
) -> Iterator[SlowServer]:
    """A loopback server answering every request with one person (200, JSON).

    `trickle="body"`: the headers at once, then the body one byte every `interval` seconds;
    `"headers"`: the whole answer, status line included, one byte every `interval`; `"none"`:
    at once. Each byte arrives well within any per-read timeout, so only a deadline on the
    whole request stops the client. Only the first `slow_requests` requests trickle.
    """
    payload = json.dumps(PERSON).encode() if body is None else body
    stopping = threading.Event()
    state = SlowServer(url="")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            while self._answer_one(conn):
                pass  # keep-alive: serve the client's next request too

        def _answer_one(self, conn: socket.socket) -> bool:
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                received += chunk
            with state.lock:
                state.requests += 1
                mode = trickle if state.requests <= slow_requests else "none"
            answer = _answer(payload)
            head_end = answer.index(b"\r\n\r\n") + 4
            at_once = {"body": head_end, "headers": 0, "none": len(answer)}[mode]
            try:
                conn.sendall(answer[:at_once])
                for i in range(at_once, len(answer)):
                    if stopping.wait(interval):
                        return False
                    conn.sendall(answer[i : i + 1])
            except OSError:  # the client gave up and closed the connection
                return False
            return True

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def elapsed_since(started: float) -> float:
    return time.monotonic() - started
