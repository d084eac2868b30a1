"""httpx plumbing: the bearer auth bound to one origin, and the pacing + retry transports.

The transports wrap the real one, so everything sent through the client's pooled httpx client,
including calls made directly on `client.api` (the generated client), is paced and retried.

Whole-request deadline. httpx's timeouts bound each connect, write and read on its own, so a
response trickling one byte a second never times out. Here each attempt must connect, send and
receive its whole body within the request's timeout (the largest of its httpx timeout values,
i.e. the client's `timeout`), or it fails with `DeadlineExceeded`, an httpx.TimeoutException
that the retry policy retries like any other timeout. The body is read inside the attempt, so
the caller gets a response already read. Async: the attempt runs under `anyio.fail_after`.
Sync: a blocking read cannot be cancelled, so the network backend of an httpx.HTTPTransport is
wrapped to give every socket operation at most the time left, and none once it is spent; any
other transport (a mock, an in-process emulator) is checked between body chunks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from contextvars import ContextVar
from typing import Any

import anyio
import httpcore
import httpx

from ._config import Origin, Secret
from ._sansio import Action, Discard, Send, Sleep, arun, run
from .pacing import Pacer
from .retry import RetryPolicy, send_with_retries

__all__ = [
    "AsyncPacedRetryTransport",
    "BearerAuth",
    "DeadlineExceeded",
    "PacedRetryTransport",
    "deadline_of",
]


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer <key>` only to requests for the configured origin."""

    def __init__(self, api_key: Secret, origin: Origin) -> None:
        self._api_key = api_key
        self._origin = origin
        # Compared as httpx normalises every request's URL (lowercase punycode host, default
        # port None): no parsing per request.
        self._target = _origin_key(httpx.URL(str(origin)))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin_key(request.url) == self._target:
            request.headers["Authorization"] = "Bearer " + self._api_key.reveal()
        else:
            request.headers.pop("Authorization", None)
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth(origin={str(self._origin)!r})"


def _origin_key(url: httpx.URL) -> tuple[str, bytes, int | None]:
    return url.scheme, url.raw_host, url.port


# --- the whole-request deadline -----------------------------------------------------------------


class DeadlineExceeded(httpx.TimeoutException):
    """An attempt did not connect, send and receive its whole response within its timeout."""


def deadline_of(request: httpx.Request) -> float | None:
    """Seconds one attempt of this request may take: its largest httpx timeout (None: none)."""
    timeouts = request.extensions.get("timeout")
    if not timeouts:
        return None
    finite = [value for value in timeouts.values() if value is not None]
    return max(finite) if finite else None


def _exceeded(seconds: float) -> str:
    return f"no complete response within {seconds:g}s (connect, send and receive the whole body)"


#: The monotonic instant the current sync attempt must end by (None outside an attempt).
_deadline: ContextVar[float | None] = ContextVar("posthog_persons_deadline", default=None)


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """A socket operation's timeout, cut to the time left before the attempt's deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the whole-request deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with every socket operation bounded by the deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, left, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound_sockets(transport: httpx.BaseTransport) -> None:
    """Wrap the network backend of an httpx.HTTPTransport's pool (httpx builds the pool
    itself and offers no parameter for it); other transports are left as they are."""
    pool = getattr(transport, "_pool", None) if isinstance(transport, httpx.HTTPTransport) else None
    backend = getattr(pool, "_network_backend", None)
    if (
        pool is not None
        and isinstance(backend, httpcore.NetworkBackend)
        and not isinstance(backend, _DeadlineBackend)
    ):
        pool._network_backend = _DeadlineBackend(backend)


def _read(response: httpx.Response, body: bytes) -> httpx.Response:
    """The response with its raw body already read (the client decodes it as usual)."""
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(body),
        extensions=response.extensions,
    )


# --- the transports -----------------------------------------------------------------------------


class PacedRetryTransport(httpx.BaseTransport):
    """Applies pacing, then the retry policy, around a real transport; each attempt is bounded
    by the whole-request deadline."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        pacer: Pacer | None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self._inner, self._policy, self._pacer, self._sleep = inner, policy, pacer, sleep
        _bound_sockets(inner)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = run(
            send_with_retries(request, self._policy, self._pacer), self._perform
        )
        return response

    def _perform(self, action: Action) -> Any:
        if isinstance(action, Send):
            return self._attempt(action.request)
        if isinstance(action, Discard):
            return action.response.close()
        assert isinstance(action, Sleep)
        return self._sleep(action.seconds)

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        seconds = deadline_of(request)
        if seconds is None:
            return self._inner.handle_request(request)
        deadline = time.monotonic() + seconds
        token = _deadline.set(deadline)
        try:
            response = self._inner.handle_request(request)
            if response.is_stream_consumed:  # an in-memory answer (a mock, an emulator)
                return response
            try:
                chunks = []
                for chunk in response.iter_raw():
                    if time.monotonic() > deadline:
                        raise DeadlineExceeded(_exceeded(seconds), request=request)
                    chunks.append(chunk)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            # A socket timeout cut to the time left fires at the deadline, give or take the
            # clock's resolution: a timeout well before it is httpx's own (connect, pool...).
            if isinstance(exc, DeadlineExceeded) or time.monotonic() < deadline - 0.01:
                raise
            raise DeadlineExceeded(_exceeded(seconds), request=request) from exc
        finally:
            _deadline.reset(token)
        return _read(response, b"".join(chunks))

    def close(self) -> None:
        self._inner.close()


class AsyncPacedRetryTransport(httpx.AsyncBaseTransport):
    """Async twin of PacedRetryTransport."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy,
        pacer: Pacer | None,
        sleep: Callable[[float], Awaitable[Any]],
    ) -> None:
        self._inner, self._policy, self._pacer, self._sleep = inner, policy, pacer, sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await arun(
            send_with_retries(request, self._policy, self._pacer), self._perform
        )
        return response

    async def _perform(self, action: Action) -> Any:
        if isinstance(action, Send):
            return await self._attempt(action.request)
        if isinstance(action, Discard):
            return await action.response.aclose()
        assert isinstance(action, Sleep)
        return await self._sleep(action.seconds)

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        seconds = deadline_of(request)
        if seconds is None:
            return await self._inner.handle_async_request(request)
        try:
            with anyio.fail_after(seconds):
                response = await self._inner.handle_async_request(request)
                if response.is_stream_consumed:  # an in-memory answer (a mock, an emulator)
                    return response
                try:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise DeadlineExceeded(_exceeded(seconds), request=request) from exc
        return _read(response, body)

    async def aclose(self) -> None:
        await self._inner.aclose()
