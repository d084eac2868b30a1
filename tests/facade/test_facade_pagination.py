"""iter_persons: follow `next` until null, only on the configured origin, each person once."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest
from facade_support import (
    HOST,
    KEY,
    PERSONS,
    list_server,
    page,
    person_json,
    person_uuid,
    query,
    run_async,
)

from posthog_persons import InvalidInputError, PostHogError


def test_exact_multiple_of_the_page_size_reads_the_trailing_empty_page(make_client) -> None:
    client, recorder = make_client(list_server([person_json(i) for i in range(200)]))
    persons = list(client.iter_persons())
    assert [p.id for p in persons] == list(range(1, 201))
    assert [query(r)["offset"] for r in recorder.requests] == ["0", "100", "200"]


def test_a_short_page_with_a_next_link_is_not_the_end(make_client) -> None:
    records = [person_json(i) for i in range(250)]

    def handler(request: httpx.Request) -> httpx.Response:
        q = query(request)
        offset, limit = int(q.get("offset", 0)), int(q["limit"])
        chunk = records[offset : offset + limit]
        if offset == 0:  # PostHog issue 24787: a short page, and yet a next link
            return page(chunk[:37], request, None, force_next=True)
        return page(chunk, request, None)

    client, recorder = make_client(handler)
    persons = list(client.iter_persons())
    assert len(recorder.requests) == 3
    assert len(persons) == 37 + 150
    assert persons[-1].id == 250


def test_a_person_repeated_across_a_page_boundary_is_yielded_once(make_client) -> None:
    records = [person_json(i) for i in range(150)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(query(request).get("offset", 0))
        if offset == 100:  # two persons were created meanwhile: offsets shifted by two
            return page(records[98:150], request, None)
        return page(records[offset : offset + 100], request, None)

    client, _ = make_client(handler)
    uuids = [p.uuid for p in client.iter_persons()]
    assert len(uuids) == len(set(uuids)) == 150


def test_iteration_is_lazy_and_pages_one_at_a_time(make_client) -> None:
    client, recorder = make_client(list_server([person_json(i) for i in range(1000)]))
    persons = client.iter_persons(page_size=10)
    assert recorder.requests == []
    for _ in range(15):
        next(persons)
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/api/projects/1/persons/?limit=100&offset=100",
        "http://ph.example.com/api/projects/1/persons/?limit=100&offset=100",
        "https://ph.example.com:8443/api/projects/1/persons/?limit=100&offset=100",
        "https://user:pw@evil.example.com/api/projects/1/persons/?offset=100",
        "//evil.example.com/api/projects/1/persons/?offset=100",
    ],
)
def test_a_foreign_next_link_raises_and_is_never_followed(make_client, next_url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "ph.example.com"
        data = {"results": [person_json(i) for i in range(100)], "next": next_url}
        return httpx.Response(200, json=data)

    client, recorder = make_client(handler)
    persons = client.iter_persons()
    with pytest.raises(PostHogError, match="refusing to follow") as caught:
        list(persons)
    assert "not the configured host https://ph.example.com" in str(caught.value)
    assert "pw" not in str(caught.value)
    assert len(recorder.requests) == 1


def test_the_key_is_only_sent_to_the_configured_origin(make_client) -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url.copy_with(query=None)), request.headers.get("authorization")))
        return httpx.Response(200, json={})

    client, _ = make_client(handler)
    http = client.api.get_httpx_client()
    http.get("https://other.example.com/x")
    http.get("http://ph.example.com/x")
    http.get("https://ph.example.com:444/x")
    http.get("https://ph.example.com/x", headers={"Authorization": "Bearer forged"})
    http.get("https://other.example.com/y", headers={"Authorization": "Bearer leaked?"})
    assert seen == [
        ("https://other.example.com/x", None),
        ("http://ph.example.com/x", None),
        ("https://ph.example.com:444/x", None),
        ("https://ph.example.com/x", f"Bearer {KEY}"),
        ("https://other.example.com/y", None),
    ]


def test_a_relative_next_link_on_the_same_host_is_followed(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if query(request)["offset"] == "0":
            return httpx.Response(
                200, json={"results": [person_json(0)], "next": f"{PERSONS}?limit=1&offset=1"}
            )
        return httpx.Response(200, json={"results": [person_json(1)], "next": None})

    client, _ = make_client(handler)
    assert [p.id for p in client.iter_persons(page_size=1)] == [1, 2]


def test_a_next_link_that_does_not_advance_raises(make_client) -> None:
    loop = f"{HOST}{PERSONS}?limit=100&offset=0"
    client, recorder = make_client(
        lambda r: httpx.Response(200, json={"results": [person_json(0)], "next": loop})
    )
    with pytest.raises(PostHogError, match="advancing offset"):
        list(client.iter_persons())
    assert len(recorder.requests) == 1


def test_filters_are_sent_the_way_the_server_reads_them(make_client) -> None:
    client, recorder = make_client(list_server([]))
    filters = [{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}]
    list(
        client.iter_persons(
            email="a@b.c", search="x", distinct_id="d-1", properties=filters, page_size=5
        )
    )
    q = query(recorder.requests[0])
    assert json.loads(q.pop("properties")) == filters
    assert q == {"email": "a@b.c", "search": "x", "distinct_id": "d-1", "limit": "5", "offset": "0"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"page_size": "100"},
        {"properties": {"plan": "pro"}},
        {"properties": "plan=pro"},
        {"properties": [{"value": "no key"}]},
        {"email": 5},
    ],
)
def test_bad_list_arguments_raise_before_any_request(make_client, kwargs) -> None:
    client, recorder = make_client(list_server([]))
    with pytest.raises(InvalidInputError):
        client.iter_persons(**kwargs)
    assert recorder.requests == []


def test_unknown_fields_are_kept_and_missing_optional_fields_are_not_fatal(make_client) -> None:
    newer = person_json(0, is_identified=True, last_seen_at="2026-05-01T00:00:00Z")
    minimal = {"uuid": person_json(1)["uuid"], "distinct_ids": ["x"]}  # no id/name/created_at
    placeholder = person_json(2, id=None, name=None, created_at=None)
    odd = person_json(3, created_at="not a date", properties=None)
    client, _ = make_client(
        lambda r: httpx.Response(
            200,
            json={"results": [newer, minimal, placeholder, odd], "next": None, "new_key": 1},
        )
    )
    a, b, c, d = client.iter_persons()
    assert a.extra == {"is_identified": True}
    assert a.last_seen_at == datetime.fromisoformat("2026-05-01T00:00:00+00:00")
    assert (b.id, b.name, b.created_at, b.properties, b.distinct_ids) == (
        None,
        None,
        None,
        {},
        ("x",),
    )
    assert (c.id, c.name, c.created_at) == (None, None, None)
    assert (d.created_at, d.properties) == (None, {})


def test_a_record_without_uuid_is_an_error_not_a_crash(make_client) -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"results": [{"id": 1}], "next": None})
    )
    with pytest.raises(PostHogError, match="without 'uuid'"):
        list(client.iter_persons())


def test_async_iteration_follows_next_and_dedupes(make_async_client) -> None:
    records = [person_json(i) for i in range(200)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(query(request).get("offset", 0))
        start = offset - 1 if offset else 0  # one repeat across each boundary
        return page(records[start : start + 100], request, None)

    client, recorder = make_async_client(handler)

    async def main() -> list[int | None]:
        async with client:
            return [p.id async for p in client.iter_persons()]

    ids = run_async(main())
    assert ids == list(range(1, 201))
    assert len(recorder.requests) == 3


def test_async_foreign_next_link_raises(make_async_client) -> None:
    foreign = "https://evil.example.com/api/projects/1/persons/?offset=100"
    client, recorder = make_async_client(
        lambda r: httpx.Response(200, json={"results": [person_json(0)], "next": foreign})
    )

    async def main() -> None:
        async with client:
            async for _ in client.iter_persons():
                pass

    with pytest.raises(PostHogError, match=r"evil\.example\.com"):
        run_async(main())
    assert len(recorder.requests) == 1


def test_fields_of_the_wrong_type_are_treated_as_missing(make_client) -> None:
    odd = person_json(0, distinct_ids="user-0", name=5, id="7", last_seen_at=12)
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"results": [odd], "next": None, "count": "x"})
    )
    (person,) = client.iter_persons()
    assert (person.distinct_ids, person.name, person.id, person.last_seen_at) == (
        (), None, None, None
    )  # fmt: skip


def test_async_exact_multiple_of_the_page_size(make_async_client) -> None:
    client, recorder = make_async_client(list_server([person_json(i) for i in range(300)]))

    async def main() -> list[int | None]:
        async with client:
            return [p.id async for p in client.iter_persons(page_size=100)]

    assert run_async(main()) == list(range(1, 301))
    assert [query(r)["offset"] for r in recorder.requests] == ["0", "100", "200", "300"]


@pytest.mark.parametrize(
    "next_url",
    [
        "http://ph.example.com/api/projects/1/persons/?offset=100",
        "https://ph.example.com:8443/api/projects/1/persons/?offset=100",
        "https://ph.example.com.evil.io/api/projects/1/persons/?offset=100",
    ],
)
def test_async_foreign_scheme_or_port_is_refused(make_async_client, next_url: str) -> None:
    client, recorder = make_async_client(
        lambda r: httpx.Response(200, json={"results": [person_json(0)], "next": next_url})
    )

    async def main() -> None:
        async with client:
            [p async for p in client.iter_persons()]

    with pytest.raises(PostHogError, match="refusing to follow"):
        run_async(main())
    assert len(recorder.requests) == 1


def test_async_the_key_is_only_sent_to_the_configured_origin(make_async_client) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        return httpx.Response(200, json={})

    client, _ = make_async_client(handler)

    async def main() -> None:
        async with client:
            http = client.api.get_async_httpx_client()
            await http.get("https://other.example.com/x")
            await http.get("http://ph.example.com/x")
            await http.get("/x")

    run_async(main())
    assert seen == [
        ("other.example.com", None), ("ph.example.com", None), ("ph.example.com", f"Bearer {KEY}")
    ]  # fmt: skip


def test_list_results_are_actors_whose_id_is_the_uuid(make_client) -> None:
    """The 2026 server's list items carry the UUID in `id` (and actor fields); Person.id is
    the numeric id only, so it is None there, while the lookups still give the number."""
    actor = person_json(0, id=person_uuid(0), type="person", is_identified=True,
                        matched_recordings=[], value_at_data_point=None)  # fmt: skip
    client, _ = make_client(list_server([actor]))
    (person,) = client.iter_persons()
    assert (person.id, person.uuid) == (None, person_uuid(0))
    assert person.extra == {"type": "person", "is_identified": True, "matched_recordings": [],
                            "value_at_data_point": None}  # fmt: skip
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"results": {"user-0": person_json(0)}})
    )
    assert client.get_persons_by_distinct_ids(["user-0"])["user-0"].id == 1


@pytest.mark.parametrize("size", [50_001, 60_000])
def test_a_page_size_above_the_servers_cap_is_refused_naming_it(make_client, size: int) -> None:
    """The server caps a list page at 50,000 rows and then answers `next: null`: a larger
    page_size would silently truncate the walk (issue 10)."""
    client, recorder = make_client(list_server([]))
    with pytest.raises(InvalidInputError, match=f"page_size {size:,}.*50,000"):
        client.iter_persons(page_size=size)
    assert recorder.requests == []
    assert list(client.iter_persons(page_size=50_000)) == []
    assert query(recorder.requests[0])["limit"] == "50000"
