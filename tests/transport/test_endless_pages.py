"""Issue 11 #7: pages that bring nothing new while `next` keeps advancing end the walk with an
error after a bounded number, instead of running forever."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from posthog_persons import AsyncPersonsClient, PersonsClient, PostHogError
from posthog_persons._config import Origin
from posthog_persons.paginator import MAX_BARREN_PAGES, MAX_PAGE_SIZE, PageCursor

KEY = "phx_transport_test_key_0123456789abcdef"
HOST = "https://ph.example.com"


def person(i: int) -> dict[str, Any]:
    return {"id": i + 1, "uuid": str(uuid.UUID(int=i + 1)), "distinct_ids": [f"user-{i}"]}


def server(results_at: Any, requests: list[int]) -> httpx.MockTransport:
    """Answers every list page with `results_at(offset)` and a `next` one page further on."""

    def handle(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        limit, offset = int(query["limit"][0]), int(query.get("offset", ["0"])[0])
        requests.append(offset)
        results = results_at(offset)
        if results is None:
            return httpx.Response(200, json={"results": [], "next": None})
        next_url = f"{HOST}/api/projects/1/persons/?limit={limit}&offset={offset + limit}"
        return httpx.Response(200, json={"results": results, "next": next_url})

    return httpx.MockTransport(handle)


def sync_walk(results_at: Any) -> tuple[list[str], list[int], BaseException | None]:
    requests: list[int] = []
    seen: list[str] = []
    client = PersonsClient(
        KEY, project_id=1, host=HOST, rate_limits=None, transport=server(results_at, requests)
    )
    with client:
        try:
            for found in client.iter_persons():
                seen.append(found.uuid)
        except PostHogError as exc:
            return seen, requests, exc
    return seen, requests, None


def test_endless_empty_pages_stop_with_an_error() -> None:
    seen, requests, error = sync_walk(lambda offset: [])
    assert seen == []
    assert isinstance(error, PostHogError)
    assert "no new record" in str(error) and "next link" in str(error)
    assert len(requests) == MAX_BARREN_PAGES + 1


def test_the_same_page_again_and_again_stops_with_an_error_after_yielding_it_once() -> None:
    page = [person(0), person(1)]
    seen, requests, error = sync_walk(lambda offset: page)
    assert seen == [page[0]["uuid"], page[1]["uuid"]]
    assert isinstance(error, PostHogError)
    assert len(requests) == MAX_BARREN_PAGES + 2


def test_a_long_run_of_empty_pages_then_records_is_a_legitimate_walk() -> None:
    """Persons deleted since ClickHouse listed them leave empty pages with a next link."""
    barren = MAX_BARREN_PAGES * 100  # offsets of the empty pages, at 100 a page

    def results_at(offset: int) -> list[dict[str, Any]] | None:
        if offset < barren:
            return []
        if offset == barren:
            return [person(7)]
        return None

    seen, requests, error = sync_walk(results_at)
    assert error is None
    assert seen == [person(7)["uuid"]]
    assert len(requests) == MAX_BARREN_PAGES + 2


def test_async_endless_empty_pages_stop_with_an_error() -> None:
    requests: list[int] = []

    async def main() -> None:
        async with AsyncPersonsClient(
            KEY, project_id=1, host=HOST, rate_limits=None,
            transport=server(lambda offset: [], requests),
        ) as client:  # fmt: skip
            async for _ in client.iter_persons():
                pass

    with pytest.raises(PostHogError, match="no new record"):
        asyncio.run(main())
    assert len(requests) == MAX_BARREN_PAGES + 1


def link(limit: int, offset: int) -> str:
    return f"{HOST}/api/projects/1/persons/?limit={limit}&offset={offset}"


def test_the_cursor_drops_repeats_within_and_across_pages() -> None:
    cursor: PageCursor[str] = PageCursor(Origin.parse(HOST), 3, key=lambda item: item)
    assert cursor.accept(["a", "b", "a"], link(3, 3)) == ["a", "b"]
    assert cursor.accept(["b", "c", "d"], link(3, 6)) == ["c", "d"]
    assert cursor.accept(["e"], None) == ["e"] and cursor.params() is None


def test_the_barren_page_budget_is_configurable_and_resets_on_news() -> None:
    cursor: PageCursor[str] = PageCursor(
        Origin.parse(HOST), 1, key=lambda item: item, max_barren_pages=2
    )

    for offset, items in enumerate([[], [], ["a"], [], []], start=1):
        cursor.accept(items, link(1, offset))
    with pytest.raises(PostHogError, match="3 pages in a row"):
        cursor.accept([], link(1, 6))


def test_max_page_size_is_the_servers_cap() -> None:
    assert MAX_PAGE_SIZE == 50_000
