"""httpx plumbing: the bearer auth bound to one origin, and the pacing + retry transports.

The transports wrap the real one, so everything sent through the client's pooled httpx client,
including calls made directly on `client.api` (the generated client), is paced and retried.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import httpx

from ._config import Origin, Secret
from ._sansio import Action, Discard, Send, Sleep, arun, run
from .pacing import Pacer
from .retry import RetryPolicy, send_with_retries


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer <key>` only to requests for the configured origin."""

    def __init__(self, api_key: Secret, origin: Origin) -> None:
        self._api_key = api_key
        self._origin = origin

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin_of(request.url) == self._origin:
            request.headers["Authorization"] = "Bearer " + self._api_key.reveal()
        else:
            request.headers.pop("Authorization", None)
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth(origin={str(self._origin)!r})"


def _origin_of(url: httpx.URL) -> Origin | None:
    try:
        return Origin.parse(str(url))
    except ValueError:
        return None


class PacedRetryTransport(httpx.BaseTransport):
    """Applies pacing, then the retry policy, around a real transport."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        pacer: Pacer | None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self._inner, self._policy, self._pacer, self._sleep = inner, policy, pacer, sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = run(
            send_with_retries(request, self._policy, self._pacer), self._perform
        )
        return response

    def _perform(self, action: Action) -> Any:
        if isinstance(action, Send):
            return self._inner.handle_request(action.request)
        if isinstance(action, Discard):
            return action.response.close()
        assert isinstance(action, Sleep)
        return self._sleep(action.seconds)

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
            return await self._inner.handle_async_request(action.request)
        if isinstance(action, Discard):
            return await action.response.aclose()
        assert isinstance(action, Sleep)
        return await self._sleep(action.seconds)

    async def aclose(self) -> None:
        await self._inner.aclose()
