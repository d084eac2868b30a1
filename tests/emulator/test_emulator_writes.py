"""Edits, splits, deletions and the deletion-status queue."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog


def _one(fake: FakePostHog, index: int = 0) -> dict[str, Any]:
    return fake.persons[index]


def test_put_and_patch_answer_202_without_body_and_apply_later() -> None:
    fake = FakePostHog(5, seed=1, validate=False, property_update_delay=30)
    person = _one(fake)
    with fake.client() as client:
        for method in ("PUT", "PATCH"):
            response = client.request(
                method, f"{PERSONS}{person['id']}/", json={"properties": {"plan": method}}
            )
            assert response.status_code == 202
            assert response.content == b""
        # Accepted but not yet visible: the server applies it through a $set event.
        assert client.get(f"{PERSONS}{person['id']}/").json()["properties"].get("plan") != "PATCH"
        assert fake.pending_changes == 2
        fake.advance(31)
        assert client.get(f"{PERSONS}{person['uuid']}/").json()["properties"]["plan"] == "PATCH"
    assert fake.pending_changes == 0


def test_default_delay_applies_edits_by_the_next_read(api: httpx.Client, fake: FakePostHog) -> None:
    person = _one(fake)
    url = f"{PERSONS}{person['id']}/"
    assert api.patch(url, json={"properties": {"plan": "gold"}}).status_code == 202
    assert api.get(url).json()["properties"]["plan"] == "gold"


@pytest.mark.parametrize("body", [{}, {"plan": "x"}, {"properties": "x"}])
def test_update_without_properties_is_400(fake: FakePostHog, body: dict[str, Any]) -> None:
    with fake.client() as client:
        response = client.put(f"{PERSONS}{_one(fake)['id']}/", json=body)
    assert response.status_code == 400
    assert response.json()["attr"] == "properties"


def test_update_property_and_delete_property(api: httpx.Client, fake: FakePostHog) -> None:
    person = _one(fake)
    base = f"{PERSONS}{person['id']}/"
    response = api.post(f"{base}update_property/", json={"key": "tier", "value": 3})
    assert (response.status_code, response.content) == (202, b"")
    assert api.get(base).json()["properties"]["tier"] == 3
    response = api.post(f"{base}delete_property/", json={"$unset": "tier"})
    assert (response.status_code, response.json()) == (201, {"success": True})
    assert "tier" not in api.get(base).json()["properties"]
    assert api.post(f"{base}update_property/", json={"key": "x"}).status_code == 400
    assert api.post(f"{base}delete_property/", json={"key": "x"}).status_code == 400


def test_split(fake: FakePostHog) -> None:
    person = fake.add_person(["main", "other-1", "other-2"], {"email": "s@example.com"})
    url = f"{PERSONS}{person['id']}/split/"
    with fake.client() as client:
        both = {"main_distinct_id": "main", "distinct_ids_to_split": ["other-1"]}
        assert client.post(url, json=both).status_code == 400
        response = client.post(url, json={"distinct_ids_to_split": ["other-1"]})
        assert (response.status_code, response.json()) == (201, {"success": True})
        assert client.get(f"{PERSONS}{person['id']}/").json()["distinct_ids"] == ["main", "other-2"]
        assert client.post(url, json={"main_distinct_id": "main"}).status_code == 201
        assert client.get(f"{PERSONS}{person['id']}/").json()["distinct_ids"] == ["main"]
        split_off = client.get(PERSONS, params={"distinct_id": "other-2"}).json()["results"]
    assert split_off[0]["id"] != person["id"]


def test_destroy_counts_flags_by_presence(fake: FakePostHog) -> None:
    first, second, third = fake.persons[:3]
    with fake.client() as client:
        response = client.delete(f"{PERSONS}{first['id']}/")
        assert (response.status_code, response.content) == (202, b"")
        assert client.get(f"{PERSONS}{first['id']}/").status_code == 404
        # "false" still counts: the server only checks that the parameter is there.
        client.delete(f"{PERSONS}{second['uuid']}/", params={"delete_events": "false"})
        client.delete(f"{PERSONS}{third['id']}/", params={"keep_person": "", "delete_events": ""})
        assert client.get(f"{PERSONS}{third['id']}/").status_code == 200
        statuses = client.get(f"{PERSONS}deletion_status/").json()["results"]
    assert {s["person_uuid"] for s in statuses} == {second["uuid"], third["uuid"]}


def test_legacy_delete_events_and_recordings(fake: FakePostHog) -> None:
    person = _one(fake)
    with fake.client() as client:
        assert client.post(f"{PERSONS}{person['id']}/delete_events/").status_code == 202
        assert client.post(f"{PERSONS}{person['id']}/delete_recordings/").status_code == 202
        assert client.post(f"{PERSONS}999999/delete_events/").status_code == 404
    assert [s["person_uuid"] for s in fake.deletion_statuses()] == [person["uuid"]]


def test_bulk_delete_by_uuid_and_distinct_id(api: httpx.Client, fake: FakePostHog) -> None:
    persons = fake.persons
    unknown = str(uuid.UUID(int=1))
    body = {"ids": [persons[0]["uuid"], persons[1]["uuid"], persons[0]["uuid"], unknown]}
    response = api.post(f"{PERSONS}bulk_delete/", json=body)
    assert response.status_code == 202
    assert response.json() == {
        "persons_found": 2,
        "persons_deleted": 2,
        "events_queued_for_deletion": False,
        "recordings_queued_for_deletion": False,
        "deletion_errors": [],
    }
    body = {"distinct_ids": [persons[2]["distinct_ids"][0], "nobody"], "delete_recordings": True}
    summary = api.post(f"{PERSONS}bulk_delete/", json=body).json()
    assert (summary["persons_found"], summary["persons_deleted"]) == (1, 1)
    assert summary["recordings_queued_for_deletion"] is True
    assert len(fake.persons) == 247


def test_bulk_delete_keep_person_queues_events_only(fake: FakePostHog) -> None:
    target = _one(fake)
    body = {"ids": [target["uuid"]], "delete_events": True, "keep_person": True}
    with fake.client() as client:
        summary = client.post(f"{PERSONS}bulk_delete/", json=body).json()
    assert summary["persons_found"] == 1 and summary["persons_deleted"] == 0
    assert summary["events_queued_for_deletion"] is True
    assert fake.get_person(target["id"]) is not None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": ["a"], "distinct_ids": ["b"]},
        {"distinct_ids": [f"d{i}" for i in range(1001)]},
        {"ids": [str(uuid.UUID(int=i)) for i in range(1001)]},
        {"ids": "not-a-list"},
        {"ids": ["123"]},
    ],
)
def test_bulk_delete_rejections(fake: FakePostHog, body: dict[str, Any]) -> None:
    with fake.client() as client:
        response = client.post(f"{PERSONS}bulk_delete/", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "validation_error" and error["detail"]
    assert len(fake.persons) == 250


def test_bulk_delete_accepts_exactly_1000(fake: FakePostHog) -> None:
    ids = [p["distinct_ids"][0] for p in fake.persons] + [f"nobody-{i}" for i in range(750)]
    with fake.client() as client:
        summary = client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ids}).json()
    assert summary["persons_deleted"] == 250


def test_deletion_status_turns_completed_after_the_delay() -> None:
    moment = [1_700_000_000.0]
    fake = FakePostHog(20, seed=2, validate=False, deletion_delay=3600, clock=lambda: moment[0])
    uuids = [p["uuid"] for p in fake.persons[:3]]
    with fake.client() as client:
        body = {"ids": uuids[:2], "delete_events": True}
        assert client.post(f"{PERSONS}bulk_delete/", json=body).json()["persons_deleted"] == 2
        moment[0] += 10
        # Deduplicated: the second request for uuids[1] adds no record.
        body = {"ids": [uuids[1], uuids[2]], "delete_events": True, "keep_person": True}
        client.post(f"{PERSONS}bulk_delete/", json=body)
        page = client.get(f"{PERSONS}deletion_status/").json()
        assert page["count"] == 3
        assert page["results"][0]["person_uuid"] == uuids[2]
        assert {r["status"] for r in page["results"]} == {"pending"}
        assert all(r["delete_verified_at"] is None for r in page["results"])
        fake.advance(3595)
        done = client.get(f"{PERSONS}deletion_status/", params={"status": "completed"}).json()
        assert {r["person_uuid"] for r in done["results"]} == set(uuids[:2])
        assert all(r["delete_verified_at"] for r in done["results"])
        pending = client.get(f"{PERSONS}deletion_status/", params={"status": "pending"}).json()
        assert [r["person_uuid"] for r in pending["results"]] == [uuids[2]]
        one = client.get(f"{PERSONS}deletion_status/", params={"person_uuid": uuids[0]}).json()
        assert one["count"] == 1


def test_deletion_status_pagination_and_bad_input(fake: FakePostHog) -> None:
    uuids = [p["uuid"] for p in fake.persons[:5]]
    with fake.client() as client:
        client.post(f"{PERSONS}bulk_delete/", json={"ids": uuids, "delete_events": True})
        page = client.get(f"{PERSONS}deletion_status/", params={"limit": 2}).json()
        assert page["count"] == 5 and len(page["results"]) == 2
        assert httpx.URL(page["next"]).params["offset"] == "2"
        last = client.get(f"{PERSONS}deletion_status/", params={"limit": 2, "offset": 4}).json()
        assert last["next"] is None and last["previous"]
        for params in ({"status": "done"}, {"limit": "x"}, {"offset": "-1"}, {"person_uuid": "1"}):
            response = client.get(f"{PERSONS}deletion_status/", params=params)
            assert response.status_code == 400, params
            assert response.json()["type"] == "validation_error"


def test_reset_person_distinct_id(api: httpx.Client) -> None:
    url = f"{PERSONS}reset_person_distinct_id/"
    assert api.post(url, json={"distinct_id": "x"}).status_code == 202
    assert api.post(url, json={}).status_code == 400


def test_undeletable_persons_come_back_as_deletion_errors(
    api: httpx.Client, fake: FakePostHog
) -> None:
    first, second, third = fake.persons[:3]
    fake.make_undeletable(second["uuid"].upper())
    assert fake.undeletable == {second["uuid"]}
    body = {"ids": [first["uuid"], second["uuid"], str(uuid.UUID(int=9))], "delete_events": True}
    response = api.post(f"{PERSONS}bulk_delete/", json=body)
    assert response.status_code == 202
    assert response.json() == {
        "persons_found": 2,
        "persons_deleted": 1,
        "events_queued_for_deletion": True,
        "recordings_queued_for_deletion": False,
        "deletion_errors": [{"person_uuid": second["uuid"]}],
    }
    # Kept, still served, and no event deletion was queued for it.
    assert api.get(f"{PERSONS}{second['id']}/").status_code == 200
    assert api.get(f"{PERSONS}{first['id']}/").status_code == 404
    statuses = api.get(f"{PERSONS}deletion_status/").json()["results"]
    assert [s["person_uuid"] for s in statuses] == [first["uuid"]]
    # By distinct id too, and with keep_person: the per-person step fails as a whole.
    body = {"distinct_ids": [second["distinct_ids"][0]], "keep_person": True, "delete_events": True}
    summary = api.post(f"{PERSONS}bulk_delete/", json=body).json()
    assert summary["deletion_errors"] == [{"person_uuid": second["uuid"]}]
    assert (summary["persons_found"], summary["persons_deleted"]) == (1, 0)
    assert summary["events_queued_for_deletion"] is False
    assert len(api.get(f"{PERSONS}deletion_status/").json()["results"]) == 1
    # Once deletable again, the same request goes through.
    fake.make_deletable(second["uuid"], "not-a-uuid")
    summary = api.post(f"{PERSONS}bulk_delete/", json={"ids": [second["uuid"]]}).json()
    assert (summary["persons_deleted"], summary["deletion_errors"]) == (1, [])
    assert fake.get_person(third["id"]) is not None


def test_undeletable_constructor_knob_and_bad_uuids() -> None:
    target = str(uuid.UUID(int=77))
    fake = FakePostHog(
        [{"distinct_ids": ["stuck"], "uuid": target}, {"distinct_ids": ["free"]}],
        validate=False,
        undeletable=[target],
    )
    with fake.client() as client:
        body = {"distinct_ids": ["stuck", "free"]}
        summary = client.post(f"{PERSONS}bulk_delete/", json=body).json()
    assert summary["deletion_errors"] == [{"person_uuid": target}]
    assert (summary["persons_found"], summary["persons_deleted"]) == (2, 1)
    assert [p["distinct_ids"] for p in fake.persons] == [["stuck"]]
    with pytest.raises(ValueError, match="not a person UUID"):
        fake.make_undeletable("stuck")
    with pytest.raises(ValueError):
        FakePostHog(validate=False, undeletable=["42"])


def test_deletion_errors_conform_to_the_contract() -> None:
    fake = FakePostHog(3, seed=4)
    stuck = fake.persons[0]["uuid"]
    fake.make_undeletable(stuck)
    with fake.client() as client:
        response = client.post(f"{PERSONS}bulk_delete/", json={"ids": [stuck]})
    assert response.json()["deletion_errors"] == [{"person_uuid": stuck}]
    assert fake.contract_errors == []
