"""httpx transports that answer from the emulator without any socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from ._http import EmulatorResponse, Exchange, Trickle


class _SlowStream(httpx.SyncByteStream):
    def __init__(self, body: bytes, trickle: Trickle) -> None:
        self._body, self._trickle = body, trickle

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._trickle.pieces(self._body):
            time.sleep(self._trickle.delay)
            yield piece


class _AsyncSlowStream(httpx.AsyncByteStream):
    def __init__(self, body: bytes, trickle: Trickle) -> None:
        self._body, self._trickle = body, trickle

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._trickle.pieces(self._body):
            await asyncio.sleep(self._trickle.delay)
            yield piece


def _to_httpx(
    request: httpx.Request,
    answer: EmulatorResponse,
    slow: type[_SlowStream] | type[_AsyncSlowStream],
) -> httpx.Response:
    if answer.disconnect:
        # What httpx raises when a server closes the socket without answering.
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if answer.trickle is None:
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
    headers = {**answer.headers, "Content-Length": str(len(answer.body))}
    return httpx.Response(
        answer.status,
        headers=headers,
        stream=slow(answer.body, answer.trickle),
        request=request,
    )


class EmulatorTransport(httpx.BaseTransport):
    """`httpx.Client(transport=fake.transport())`."""

    def __init__(self, fake: Exchange) -> None:
        self.fake = fake

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if self.fake.latency > 0:
            time.sleep(self.fake.latency)
        answer = self.fake.handle(request.method, str(request.url), request.headers.items(), body)
        return _to_httpx(request, answer, _SlowStream)


class EmulatorAsyncTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=fake.async_transport())`; latency does not block the loop."""

    def __init__(self, fake: Exchange) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if self.fake.latency > 0:
            await asyncio.sleep(self.fake.latency)
        answer = self.fake.handle(request.method, str(request.url), request.headers.items(), body)
        return _to_httpx(request, answer, _AsyncSlowStream)
