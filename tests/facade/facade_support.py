"""Helpers of the facade tests: a recording MockTransport, a fake clock, person records.

Imported as `facade_support` (not `conftest`, whose name other test folders share).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

KEY = "phx_TOPSECRET_facade_test_key_0123456789"
HOST = "https://ph.example.com"
PERSONS = "/api/projects/1/persons/"

Handler = Callable[[httpx.Request], httpx.Response]


def person_uuid(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


def person_json(i: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "id": i + 1,
        "uuid": person_uuid(i),
        "name": f"user{i}@example.com",
        "distinct_ids": [f"user-{i}", person_uuid(10_000_000 + i)],
        "properties": {"email": f"user{i}@example.com", "plan": "pro"},
        "created_at": "2026-01-02T03:04:05.678000Z",
        "last_seen_at": None,
    }
    record.update(overrides)
    return record


def uuid_lookup(request: httpx.Request, exists: Callable[[str], bool] = bool) -> httpx.Response:
    """The batch lookup by UUID, as the server answers it: the persons among the request's
    UUIDs for which `exists` holds (every one by default), keyed by UUID."""
    found = {u: person_json(0, uuid=u) for u in body(request)["uuids"] if exists(u)}
    return httpx.Response(200, json={"results": found})


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def page(
    results: list[Any], request: httpx.Request, total: int | None, **extra: Any
) -> httpx.Response:
    """A page answer with an absolute next link when the page was full."""
    q = query(request)
    limit, offset = int(q.get("limit", 100)), int(q.get("offset", 0))
    next_url = None
    if len(results) >= limit or extra.pop("force_next", False):
        params = {**q, "limit": str(limit), "offset": str(offset + limit)}
        next_url = str(request.url.copy_with(params=params))
    data = {"next": next_url, "previous": None, "results": results, **extra}
    if total is not None:
        data["count"] = total
    return httpx.Response(200, json=data)


def list_server(records: list[dict[str, Any]]) -> Handler:
    """Serves `records` through the persons list with limit/offset pagination."""

    def handle(request: httpx.Request) -> httpx.Response:
        q = query(request)
        limit, offset = int(q.get("limit", 100)), int(q.get("offset", 0))
        return page(records[offset : offset + limit], request, None)

    return handle


class FakeClock:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Recorder:
    """A MockTransport handler that records every request it is sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def bodies(self) -> list[Any]:
        return [body(r) for r in self.requests]


def client_factory(cls: type, sleep: Callable[[float], Any], clock: FakeClock, opened: list[Any]):
    def make(handler: Handler, **options: Any) -> tuple[Any, Recorder]:
        recorder = Recorder(handler)
        settings: dict[str, Any] = {
            "api_key": KEY, "project_id": 1, "host": HOST, "rate_limits": None,
            "clock": clock, "sleep": sleep, **options,
        }  # fmt: skip
        client = cls(transport=httpx.MockTransport(recorder), **settings)
        opened.append(client)
        return client, recorder

    return make


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
