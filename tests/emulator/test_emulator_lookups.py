"""Batch lookups, point-in-time properties and the small read endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog


def test_batch_by_distinct_ids(api: httpx.Client, fake: FakePostHog) -> None:
    many = fake.add_person([f"multi-{i}" for i in range(15)], {"email": "m@example.com"})
    ids = ["multi-3", fake.persons[5]["distinct_ids"][0], "nobody"]
    response = api.post(f"{PERSONS}batch_by_distinct_ids/", json={"distinct_ids": ids})
    assert response.status_code == 200
    results = response.json()["results"]
    assert set(results) == set(ids[:2])
    assert results["multi-3"]["uuid"] == many["uuid"]
    assert len(results["multi-3"]["distinct_ids"]) == 10


def test_batch_lookups_consider_only_200_ids(fake: FakePostHog) -> None:
    persons = fake.persons
    distinct_ids = [p["distinct_ids"][0] for p in persons]
    uuids = [p["uuid"] for p in persons]
    with fake.client() as client:
        by_did = client.post(
            f"{PERSONS}batch_by_distinct_ids/", json={"distinct_ids": distinct_ids}
        )
        by_uuid = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": uuids})
        # An invalid uuid past the 200th is never looked at.
        tail_junk = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": [*uuids[:200], "x"]})
    assert set(by_did.json()["results"]) == set(distinct_ids[:200])
    assert set(by_uuid.json()["results"]) == set(uuids[:200])
    assert tail_junk.status_code == 200


@pytest.mark.parametrize("body", [{}, {"uuids": []}, {"uuids": "abc"}, {"uuids": None}])
def test_batch_by_uuids_empty_or_non_list(fake: FakePostHog, body: dict[str, Any]) -> None:
    with fake.client() as client:
        response = client.post(f"{PERSONS}batch_by_uuids/", json=body)
        other = client.post(f"{PERSONS}batch_by_distinct_ids/", json={"distinct_ids": "abc"})
    assert (response.status_code, response.json()) == (200, {"results": {}})
    assert other.json() == {"results": {}}


def test_batch_by_uuids_invalid_uuid_is_400(api: httpx.Client, fake: FakePostHog) -> None:
    body = {"uuids": [fake.persons[0]["uuid"], "not-a-uuid"]}
    response = api.post(f"{PERSONS}batch_by_uuids/", json=body)
    assert response.status_code == 400
    assert response.json()["detail"] == "One or more UUIDs are invalid."
    found = api.post(f"{PERSONS}batch_by_uuids/", json={"uuids": body["uuids"][:1]}).json()
    assert list(found["results"]) == body["uuids"][:1]


def test_properties_at_time(api: httpx.Client, fake: FakePostHog) -> None:
    person = fake.persons[0]
    url = f"{PERSONS}properties_at_time/"
    body = api.get(
        url, params={"distinct_id": person["distinct_ids"][0], "timestamp": "2030-01-01T00:00:00Z"}
    ).json()
    assert body["uuid"] == person["uuid"]
    meta = body["point_in_time_metadata"]
    assert meta["distinct_id_used"] == person["distinct_ids"][0]
    assert meta["person_id_used"] is None and meta["distinct_ids_count"] == 1
    assert meta["include_set_once"] is False
    by_id = api.get(
        url,
        params={"person_id": person["id"], "timestamp": "2030-01-01", "include_set_once": "true"},
    ).json()["point_in_time_metadata"]
    assert by_id["include_set_once"] is True
    assert by_id["distinct_ids_count"] == len(person["distinct_ids"])
    bad = [
        {"timestamp": "2030-01-01"},
        {"distinct_id": "a", "person_id": "1", "timestamp": "2030-01-01"},
        {"distinct_id": "a"},
        {"distinct_id": "a", "timestamp": "yesterday"},
    ]
    for params in bad:
        response = api.get(url, params=params)
        assert response.status_code == 400, params
        assert "error" in response.json()
    missing = api.get(url, params={"distinct_id": "nobody", "timestamp": "2030-01-01"})
    assert missing.status_code == 404 and "error" in missing.json()


def test_values_counts_property_values(fake: FakePostHog) -> None:
    with fake.client() as client:
        body = client.get(f"{PERSONS}values/", params={"key": "plan"}).json()
        only_pro = client.get(f"{PERSONS}values/", params={"key": "plan", "value": "PRO"}).json()
    counts = {r["name"]: r["count"] for r in body["results"]}
    assert set(counts) == {"free", "pro", "enterprise"}
    assert sum(counts.values()) == sum(1 for p in fake.persons if "plan" in p["properties"])
    assert body["refreshing"] is False
    assert [r["name"] for r in only_pro["results"]] == ["pro"]


def test_small_read_endpoints(api: httpx.Client, fake: FakePostHog) -> None:
    person_id = fake.persons[0]["id"]
    assert api.get(f"{PERSONS}cohorts/", params={"person_id": person_id}).json() == {"results": []}
    assert api.get(f"{PERSONS}cohorts/").status_code == 400
    empty_page = {"results": [], "next": None, "previous": None, "total_count": 0}
    assert api.get(f"{PERSONS}activity/").json() == empty_page
    assert api.get(f"{PERSONS}{person_id}/activity/").json() == empty_page
    timeline = api.get(f"{PERSONS}{person_id}/properties_timeline/").json()
    assert timeline["points"] == [] and timeline["effective_date_from"]
    actors = {"results": [{"people": [], "count": 0}], "next": None}
    for method, path in [
        ("GET", "funnel/"),
        ("POST", "funnel/"),
        ("GET", "funnel/correlation/"),
        ("POST", "funnel/correlation/"),
        ("GET", "trends/"),
        ("GET", "lifecycle/"),
        ("GET", "stickiness/"),
    ]:
        response = api.request(method, f"{PERSONS}{path}", json={} if method == "POST" else None)
        assert response.json() == actors, path


def test_retrieve_by_id_or_uuid(api: httpx.Client, fake: FakePostHog) -> None:
    person = fake.persons[7]
    assert api.get(f"{PERSONS}{person['id']}/").json() == person
    assert api.get(f"{PERSONS}{person['uuid'].upper()}").json()["id"] == person["id"]
    assert api.get(f"{PERSONS}{uuid.UUID(int=5)}/").status_code == 404
