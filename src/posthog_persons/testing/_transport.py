"""httpx transports that answer from a FakePostHog without any socket."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._core import EmulatorResponse, FakePostHog


def _to_httpx(request: httpx.Request, answer: EmulatorResponse) -> httpx.Response:
    if answer.disconnect:
        # What httpx raises when a server closes the socket without answering.
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(
        answer.status, headers=answer.headers, content=answer.body, request=request
    )


class EmulatorTransport(httpx.BaseTransport):
    """`httpx.Client(transport=fake.transport())`."""

    def __init__(self, fake: FakePostHog) -> None:
        self.fake = fake

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if self.fake.latency > 0:
            time.sleep(self.fake.latency)
        answer = self.fake.handle(request.method, str(request.url), request.headers.items(), body)
        return _to_httpx(request, answer)


class EmulatorAsyncTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=fake.async_transport())`; latency does not block the loop."""

    def __init__(self, fake: FakePostHog) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if self.fake.latency > 0:
            await asyncio.sleep(self.fake.latency)
        answer = self.fake.handle(request.method, str(request.url), request.headers.items(), body)
        return _to_httpx(request, answer)
