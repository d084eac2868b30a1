"""Batch lookups, point-in-time properties and the small read endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog


def test_batch_by_distinct_ids(api: httpx.Client, fake: FakePostHog) -> None:
    many = fake.add_person(
        [str(uuid.UUID(int=i)) for i in range(12)] + ["multi-3"], {"email": "m@example.com"}
    )
    ids = ["multi-3", fake.persons[5]["distinct_ids"][0], "nobody"]
    response = api.post(f"{PERSONS}batch_by_distinct_ids/", json={"distinct_ids": ids})
    assert response.status_code == 200
    results = response.json()["results"]
    assert set(results) == set(ids[:2])
    record = results["multi-3"]
    assert record["uuid"] == many["uuid"] and isinstance(record["id"], int)
    # MinimalPersonSerializer: the first ten distinct ids as stored ("multi-3" is the
    # thirteenth, so it is not among them), then sorted anonymous-last.
    assert record["distinct_ids"] == [str(uuid.UUID(int=i)) for i in range(10)]


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


@pytest.mark.parametrize(
    "body",
    [{}, {"uuids": []}, {"uuids": "abc"}, {"uuids": None}, {"uuids": {"a": 1}}, {"uuids": 7}],
)
def test_batch_lookups_of_a_non_list_answer_200_and_nothing(
    fake: FakePostHog, body: dict[str, Any]
) -> None:
    # posthog/api/person.py batch_by_uuids / batch_by_distinct_ids: `not isinstance(..., list)
    # or len(...) == 0` -> {"results": {}}.
    other = {"distinct_ids": body["uuids"]} if "uuids" in body else {}
    with fake.client() as client:
        response = client.post(f"{PERSONS}batch_by_uuids/", json=body)
        by_distinct = client.post(f"{PERSONS}batch_by_distinct_ids/", json=other)
    assert (response.status_code, response.json()) == (200, {"results": {}})
    assert (by_distinct.status_code, by_distinct.json()) == (200, {"results": {}})


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
    assert body["uuid"] == person["uuid"] and body["id"] == person["id"]
    meta = body["point_in_time_metadata"]
    assert meta["queried_timestamp"] == "2030-01-01T00:00:00+00:00"  # datetime.isoformat()
    assert meta["distinct_id_used"] == person["distinct_ids"][0]
    assert meta["person_id_used"] is None and meta["query_mode"] == "distinct_id"
    # All the person's distinct ids are queried, whichever identifies it.
    assert sorted(meta["distinct_ids_queried"]) == sorted(person["distinct_ids"])
    assert meta["include_set_once"] is False
    by_id = api.get(
        url,
        params={"person_id": person["uuid"], "timestamp": "2030-01-01", "include_set_once": "true"},
    ).json()["point_in_time_metadata"]
    assert by_id["include_set_once"] is True and by_id["query_mode"] == "person_id"
    assert by_id["distinct_ids_count"] == len(person["distinct_ids"])
    # The messages of posthog/api/person.py properties_at_time.
    bad = [
        ({"timestamp": "2030-01-01"}, "Must provide either distinct_id or person_id parameter"),
        (
            {"distinct_id": "a", "person_id": "1", "timestamp": "2030-01-01"},
            "Cannot provide both distinct_id and person_id - choose one",
        ),
        (
            {"distinct_id": "a", "timestamp": "yesterday"},
            "Invalid timestamp format. Use ISO format like 2023-06-15T14:30:00Z",
        ),
    ]
    for params, message in bad:
        response = api.get(url, params=params)
        assert (response.status_code, response.json()) == (400, {"error": message}), params
    missing = api.get(url, params={"distinct_id": "nobody", "timestamp": "2030-01-01"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "Person with distinct_id 'nobody' not found"}


def test_properties_at_time_without_timestamp() -> None:
    # Without the schema check (which requires it), the action's own message.
    loose = FakePostHog(1, validate=False)
    with loose.client() as client:
        response = client.get(f"{PERSONS}properties_at_time/", params={"distinct_id": "a"})
    assert response.json() == {
        "error": "timestamp parameter is required (ISO format: 2023-06-15T14:30:00Z)"
    }


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
    assert api.get(f"{PERSONS}cohorts/", params={"person_id": 987654}).status_code == 404
    empty_page = {"results": [], "next": None, "previous": None, "total_count": 0}
    assert api.get(f"{PERSONS}activity/").json() == empty_page
    assert api.get(f"{PERSONS}{person_id}/activity/").json() == empty_page
    assert api.get(f"{PERSONS}987654/activity/").status_code == 404
    # Messages workflows sent: none in the emulator, but the person must exist.
    for channel in ("emails", "push_notifications"):
        assert api.get(f"{PERSONS}{person_id}/{channel}/").json() == []
        assert api.get(f"{PERSONS}987654/{channel}/").status_code == 404


def test_values_without_a_key_is_an_empty_answer() -> None:
    # posthog/api/person.py values: no key, or a `$virt` one, answers nothing (no 400).
    loose = FakePostHog(5, validate=False)
    with loose.client() as client:
        for params in ({}, {"key": "$virt_revenue"}):
            response = client.get(f"{PERSONS}values/", params=params)
            assert response.json() == {"results": [], "refreshing": False}, params


def test_retrieve_by_id_or_uuid(api: httpx.Client, fake: FakePostHog) -> None:
    person = fake.persons[7]
    assert api.get(f"{PERSONS}{person['id']}/").json() == person
    assert api.get(f"{PERSONS}{person['uuid'].upper()}").json()["id"] == person["id"]
    assert api.get(f"{PERSONS}{uuid.UUID(int=5)}/").status_code == 404
    # DRF's default lookup regex refuses dots: an email-like id matches no route at all.
    assert api.get(f"{PERSONS}ada.lovelace@example.com/").status_code == 404
