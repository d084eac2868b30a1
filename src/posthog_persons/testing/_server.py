"""A real HTTP/1.1 server on loopback in front of the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Generic, TypeVar

from ._contract import EmulatorContractError
from ._http import Exchange, Trickle, drf_error

E = TypeVar("E", bound=Exchange)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, so a client paging through thousands of persons reuses one connection.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACKs
    # add ~40 ms to every request.
    disable_nagle_algorithm = True
    server: _Server

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self) -> None:
        fake = self.server.fake
        body = self._body()
        if fake.latency > 0:
            time.sleep(fake.latency)
        # Links the server builds are absolute and use the address the client dialled.
        host = self.headers.get("Host") or f"{self.server.host}:{self.server.port}"
        try:
            answer = fake.handle(
                self.command, f"http://{host}{self.path}", self.headers.items(), body
            )
        except EmulatorContractError as error:
            answer = drf_error(500, "server_error", "emulator_contract_error", str(error))
        if answer.disconnect:
            self.close_connection = True
            return
        self._send(answer.status, answer.headers, answer.body, answer.trickle)

    def _send(
        self, status: int, headers: dict[str, str], body: bytes, trickle: Trickle | None = None
    ) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not body or self.command == "HEAD":
            return
        if trickle is None:
            self.wfile.write(body)
            return
        self.wfile.flush()
        try:
            for piece in trickle.pieces(body):
                time.sleep(trickle.delay)
                self.wfile.write(piece)
                self.wfile.flush()
        except OSError:
            # The client gave up (its deadline): nothing left to send to.
            self.close_connection = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server answers 501 to any verb without a do_ method; the real server (Django)
        # answers every verb itself (405 where the route lacks it), so route them all.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        # The request log lives in FakePostHog.requests; stderr noise helps no one.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Let a burst of parallel clients connect without SYN drops.
    request_queue_size = 128

    def __init__(self, fake: Exchange, host: str, port: int) -> None:
        self.fake = fake
        self.host = host
        super().__init__((host, port), _Handler)
        self.port = int(self.server_address[1])


class EmulatorServer(Generic[E]):
    """A running emulator; stops on `close()` or leaving the `with` block."""

    def __init__(self, fake: E, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._server = _Server(fake, host, port)
        self.host = host
        self.port = self._server.port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"posthog-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer[E]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
