"""GET .../persons/: pagination, ordering and filters."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog


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
    assert [p["id"] for p in results] == [p["id"] for p in fake.persons]
    assert len({p["id"] for p in results}) == 250


def test_next_keeps_the_filters_and_previous_points_back(api: httpx.Client) -> None:
    body = api.get(PERSONS, params={"limit": 10, "offset": 30, "search": "example"}).json()
    next_params = httpx.URL(body["next"]).params
    assert next_params["search"] == "example"
    assert (next_params["limit"], next_params["offset"]) == ("10", "40")
    assert httpx.URL(body["previous"]).params["offset"] == "20"
    second = api.get(PERSONS, params={"limit": 10, "offset": 10}).json()
    assert "offset" not in httpx.URL(second["previous"]).params


def test_order_is_created_at_then_id_descending(fake: FakePostHog) -> None:
    with fake.client() as client:
        results, _ = _walk(client, PERSONS, limit=100)
    keys = [(p["created_at"], p["id"]) for p in results]
    assert keys == sorted(keys, reverse=True)
    # The generator deliberately makes created_at ties, so the id tie-break is exercised.
    assert len({p["created_at"] for p in results}) < len(results)


def test_default_limit_is_100_and_include_total_adds_count(fake: FakePostHog) -> None:
    with fake.client() as client:
        body = client.get(PERSONS).json()
        assert len(body["results"]) == 100
        assert client.get(PERSONS, params={"include_total": "true"}).json()["count"] == 250


def test_environments_scope_serves_the_same(fake: FakePostHog) -> None:
    with fake.client() as client:
        projects = client.get(PERSONS, params={"limit": 5}).json()
        environments = client.get("/api/environments/1/persons/", params={"limit": 5}).json()
    assert projects["results"] == environments["results"]
    assert "/api/environments/1/persons/" in environments["next"]


def _person_with_email(fake: FakePostHog) -> dict[str, Any]:
    return next(p for p in fake.persons if "email" in p["properties"])


def test_distinct_id_email_and_search_filters(fake: FakePostHog) -> None:
    target = _person_with_email(fake)
    email = target["properties"]["email"]
    with fake.client() as client:
        for params in (
            {"distinct_id": target["distinct_ids"][-1]},
            {"email": email},
            {"search": email.split("@")[0].upper()},
            {"search": target["distinct_ids"][0]},
        ):
            ids = [p["id"] for p in client.get(PERSONS, params=params).json()["results"]]
            assert target["id"] in ids, params
        assert client.get(PERSONS, params={"distinct_id": "nobody"}).json()["results"] == []
        assert client.get(PERSONS, params={"email": email.upper()}).json()["results"] == []


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


def test_csv_format(fake: FakePostHog) -> None:
    with fake.client() as client:
        response = client.get(PERSONS, params={"format": "csv", "limit": 3})
    assert response.headers["content-type"].startswith("text/csv")
    assert len(response.text.strip().splitlines()) == 4


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
