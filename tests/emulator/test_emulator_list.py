"""GET .../persons/: actors, pagination, ordering and filters, as the 2026 server answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog

ACTOR_KEYS = [
    "type",
    "id",
    "uuid",
    "created_at",
    "last_seen_at",
    "properties",
    "is_identified",
    "name",
    "distinct_ids",
    "matched_recordings",
    "value_at_data_point",
]


def _walk(client: httpx.Client, url: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    results: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    request_params: dict[str, Any] | None = params
    while next_url:
        response = client.get(next_url, params=request_params)
        assert response.status_code == 200, response.text
        body = response.json()
        results.extend(body["results"])
        next_url = body["next"]
        request_params = None
        pages += 1
    return results, pages


def test_list_results_are_actors_with_the_uuid_as_id(api: httpx.Client, fake: FakePostHog) -> None:
    # posthog/queries/actor_base_query.py get_serialized_people: id = uuid, type "person".
    results = api.get(PERSONS, params={"limit": 20}).json()["results"]
    records = {p["uuid"]: p for p in fake.persons}
    for actor in results:
        assert list(actor) == ACTOR_KEYS
        assert actor["type"] == "person"
        assert actor["id"] == actor["uuid"] and str(uuid.UUID(actor["id"])) == actor["id"]
        assert actor["matched_recordings"] == [] and actor["value_at_data_point"] is None
        record = records[actor["uuid"]]
        assert actor["properties"] == record["properties"]
        assert actor["name"] == record["name"]
        assert sorted(actor["distinct_ids"]) == sorted(record["distinct_ids"])
        assert actor["last_seen_at"] == record["last_seen_at"]
        assert isinstance(actor["is_identified"], bool)
    # Retrieve (PersonSerializer) keeps the numeric id.
    first = results[0]
    retrieved = api.get(f"{PERSONS}{first['uuid']}/").json()
    assert retrieved["id"] == records[first["uuid"]]["id"] and isinstance(retrieved["id"], int)
    assert "type" not in retrieved


def test_is_identified_follows_the_person(fake: FakePostHog) -> None:
    anonymous = fake.add_person([str(uuid.UUID(int=5))])
    known = fake.add_person(["known-user"], {"email": "k@example.com"})
    explicit = fake.add_person(["someone"], is_identified=False)
    with fake.client() as client:
        found = {
            p["uuid"]: p["is_identified"]
            for p in client.get(PERSONS, params={"limit": 1000}).json()["results"]
        }
    assert found[anonymous["uuid"]] is False
    assert found[known["uuid"]] is True
    assert found[explicit["uuid"]] is False


def test_pages_follow_absolute_next_links_and_end_with_an_empty_page(
    api: httpx.Client, fake: FakePostHog
) -> None:
    first = api.get(PERSONS, params={"limit": 50}).json()
    assert first["next"].startswith(str(api.base_url).rstrip("/") + PERSONS)
    assert first["previous"] is None
    assert "count" not in first
    results, pages = _walk(api, PERSONS, limit=50)
    # 250 persons in pages of 50: five full pages, then the empty page a full one promises.
    assert pages == 6
    assert [p["uuid"] for p in results] == [p["uuid"] for p in fake.persons]
    assert len({p["id"] for p in results}) == 250


def test_links_are_built_like_format_query_params_absolute_url(api: httpx.Client) -> None:
    # posthog/utils.py format_query_params_absolute_url: `offset=<digits>` replaced in place,
    # otherwise appended; the limit is never added (the next request gets the same default).
    body = api.get(PERSONS, params={"limit": 10, "offset": 30, "search": "example"}).json()
    base = str(api.base_url).rstrip("/") + PERSONS
    assert body["next"] == f"{base}?limit=10&offset=40&search=example"
    assert body["previous"] == f"{base}?limit=10&offset=20&search=example"
    no_limit = api.get(PERSONS).json()
    assert no_limit["next"] == f"{base}?offset=100"
    # The previous page of offset 10 is offset 0, which the server's helper leaves alone:
    # `previous` is this very URL.
    second = api.get(PERSONS, params={"limit": 10, "offset": 10}).json()
    assert second["previous"] == f"{base}?limit=10&offset=10"
    # Less than one page in, no previous page at all (`offset - limit >= 0`).
    assert api.get(PERSONS, params={"limit": 10, "offset": 5}).json()["previous"] is None


def test_order_is_created_at_then_uuid_descending(fake: FakePostHog) -> None:
    with fake.client() as client:
        results, _ = _walk(client, PERSONS, limit=100)
    keys = [(p["created_at"], uuid.UUID(p["uuid"]).int) for p in results]
    assert keys == sorted(keys, reverse=True)
    # The generator deliberately makes created_at ties, so the tie-break is exercised.
    assert len({p["created_at"] for p in results}) < len(results)


def test_default_limit_is_100_and_include_total_adds_count(fake: FakePostHog) -> None:
    with fake.client() as client:
        body = client.get(PERSONS).json()
        assert len(body["results"]) == 100
        assert client.get(PERSONS, params={"include_total": "true"}).json()["count"] == 250
        # `elif not filter.limit`: limit=0 is the default page too.
        assert len(client.get(PERSONS, params={"limit": 0}).json()["results"]) == 100


def test_a_page_holds_at_most_50000_rows_and_next_needs_a_full_page() -> None:
    # posthog/hogql/constants.py MAX_SELECT_RETURNED_ROWS caps the page; posthog/api/person.py
    # list sets `next` only when the page holds `limit` rows: a larger limit truncates silently.
    fake = FakePostHog(50_002, seed=4, validate=False)
    with fake.client() as client:
        capped = client.get(PERSONS, params={"limit": 60_000}).json()
        assert len(capped["results"]) == 50_000
        assert capped["next"] is None
        full = client.get(PERSONS, params={"limit": 50_000}).json()
        assert len(full["results"]) == 50_000
        assert httpx.URL(full["next"]).params["offset"] == "50000"
        rest = client.get(full["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None


def test_environments_scope_serves_the_same(fake: FakePostHog) -> None:
    with fake.client() as client:
        projects = client.get(PERSONS, params={"limit": 5}).json()
        environments = client.get("/api/environments/1/persons/", params={"limit": 5}).json()
    assert projects["results"] == environments["results"]
    assert "/api/environments/1/persons/" in environments["next"]


def _person_with_email(fake: FakePostHog) -> dict[str, Any]:
    return next(p for p in fake.persons if "email" in p["properties"])


def _search(client: httpx.Client, term: str) -> list[str]:
    results = client.get(PERSONS, params={"search": term, "limit": 1000}).json()["results"]
    return [p["uuid"] for p in results]


def test_distinct_id_and_email_filters_are_exact(fake: FakePostHog) -> None:
    target = _person_with_email(fake)
    email = target["properties"]["email"]
    with fake.client() as client:
        for params in ({"distinct_id": target["distinct_ids"][-1]}, {"email": email}):
            uuids = [p["uuid"] for p in client.get(PERSONS, params=params).json()["results"]]
            assert uuids == [target["uuid"]], params
        assert client.get(PERSONS, params={"distinct_id": "nobody"}).json()["results"] == []
        assert client.get(PERSONS, params={"email": email.upper()}).json()["results"] == []


def test_search_is_a_case_insensitive_substring_over_email_name_uuid_and_distinct_ids() -> None:
    # posthog/hogql_queries/actor_strategies.py PersonStrategy.filter_conditions: ILIKE
    # '%term%' on properties.email, properties.name, toString(id) and every distinct id.
    by_email = str(uuid.UUID(int=1))
    fake = FakePostHog(
        [
            {"distinct_ids": ["d-1"], "properties": {"email": "Ada@Example.org"}, "uuid": by_email},
            {"distinct_ids": ["d-2"], "properties": {"name": "Grace Hopper"}},
            {"distinct_ids": ["device-XYZ-77", "other"], "properties": {}},
            {"distinct_ids": ["d-4"], "properties": {"username": "hopper"}},
        ],
        validate=False,
    )
    everyone = {p["distinct_ids"][0]: p["uuid"] for p in fake.persons}
    with fake.client() as client:
        assert _search(client, "ada@EXAMPLE") == [by_email]
        assert _search(client, "HOPPER") == [everyone["d-2"]]  # name, not username
        assert _search(client, "xyz-7") == [everyone["device-XYZ-77"]]
        # A piece of the UUID matches it (toString(id) ILIKE ...).
        assert _search(client, everyone["d-4"][9:18].upper()) == [everyone["d-4"]]
        # ILIKE wildcards are not escaped: `_` is any one character, `%` any run.
        assert _search(client, "DEVICE_xyz") == [everyone["device-XYZ-77"]]
        assert _search(client, "dev%77") == [everyone["device-XYZ-77"]]
        assert _search(client, "nothing-like-this") == []


def test_a_complete_email_or_uuid_matching_exactly_returns_only_that_person() -> None:
    # The 2026 schema's description of `search` (and ../shared/posthog-persons-api.md): a
    # complete email or UUID that exactly matches a distinct id or person id returns only
    # that person; otherwise the substring search applies.
    fake = FakePostHog(
        [
            {"distinct_ids": ["ann@example.com"], "properties": {"email": "ann@example.com"}},
            {"distinct_ids": ["x-1"], "properties": {"email": "joann@example.com"}},
            {"distinct_ids": ["x-2"], "properties": {"email": "bob@example.com"}},
        ],
        validate=False,
    )
    ann, joann, bob = (fake.get_person(d) for d in ("ann@example.com", "x-1", "x-2"))
    assert ann and joann and bob
    with fake.client() as client:
        assert _search(client, "ann@example.com") == [ann["uuid"]]
        # An email that is no one's distinct id: the substring search (her email property).
        assert _search(client, "joann@example.com") == [joann["uuid"]]
        assert set(_search(client, "nn@example.com")) == {ann["uuid"], joann["uuid"]}
        assert _search(client, bob["uuid"].upper()) == [bob["uuid"]]


def _filter(fake: FakePostHog, *filters: dict[str, Any]) -> list[dict[str, Any]]:
    with fake.client() as client:
        params = {"properties": json.dumps(list(filters)), "limit": 1000}
        response = client.get(PERSONS, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_property_filter_operators(fake: FakePostHog) -> None:
    everyone = fake.persons
    pro = _filter(fake, {"key": "plan", "value": "pro", "operator": "exact", "type": "person"})
    assert pro and all(p["properties"]["plan"] == "pro" for p in pro)
    either = _filter(fake, {"key": "plan", "value": ["pro", "enterprise"], "operator": "exact"})
    assert {p["properties"]["plan"] for p in either} == {"pro", "enterprise"}
    not_pro = _filter(fake, {"key": "plan", "value": "pro", "operator": "is_not"})
    assert len(not_pro) + len(pro) == len(everyone)
    has = _filter(fake, {"key": "email", "operator": "is_set"})
    has_not = _filter(fake, {"key": "email", "operator": "is_not_set"})
    assert len(has) + len(has_not) == len(everyone) and has and has_not
    contains = _filter(fake, {"key": "email", "value": "EXAMPLE.ORG", "operator": "icontains"})
    assert contains and all("example.org" in p["properties"]["email"] for p in contains)
    excluded = _filter(fake, {"key": "email", "value": "example.org", "operator": "not_icontains"})
    assert len(contains) + len(excluded) == len(everyone)
    many = _filter(fake, {"key": "logins", "value": 250, "operator": "gt"})
    few = _filter(fake, {"key": "logins", "value": "100", "operator": "lt"})
    assert many and all(p["properties"]["logins"] > 250 for p in many)
    assert few and all(p["properties"]["logins"] < 100 for p in few)
    both = _filter(
        fake,
        {"key": "plan", "value": "pro", "operator": "exact"},
        {"key": "logins", "value": 250, "operator": "gt"},
    )
    assert {p["id"] for p in both} == {p["id"] for p in pro} & {p["id"] for p in many}
    beta = _filter(fake, {"key": "is_beta", "value": "true"})
    assert beta and all(p["properties"]["is_beta"] is True for p in beta)


@pytest.mark.parametrize(
    "raw",
    ["not json", '{"key": "plan"}', '[{"value": 1}]', '[{"key": "plan", "operator": "nope"}]'],
)
def test_bad_properties_filter_is_a_validation_error(fake: FakePostHog, raw: str) -> None:
    with fake.client() as client:
        response = client.get(PERSONS, params={"properties": raw})
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["attr"] == "properties"


def test_csv_format_is_one_page_from_the_start(fake: FakePostHog) -> None:
    # posthog/api/person.py list: a CSV request is CSV_EXPORT_LIMIT rows from offset 0.
    with fake.client() as client:
        response = client.get(PERSONS, params={"format": "csv", "limit": 3, "offset": 10})
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert len(lines) == 251
    assert lines[1].split(",")[0] == fake.persons[0]["uuid"]


def test_twenty_thousand_persons_page_quickly_over_http() -> None:
    fake = FakePostHog(20_000, seed=1, validate=False)
    with (
        fake.serve() as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {fake.api_key}"}
        ) as client,
    ):
        results, pages = _walk(client, PERSONS)
    assert len(results) == 20_000
    assert pages == 201
