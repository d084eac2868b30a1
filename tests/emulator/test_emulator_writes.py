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


@pytest.mark.parametrize("body", [{}, {"plan": "x"}, {"properties": None}])
def test_update_without_properties_is_400(fake: FakePostHog, body: dict[str, Any]) -> None:
    with fake.client() as client:
        response = client.put(f"{PERSONS}{_one(fake)['id']}/", json=body)
        # Checked before the person: an unknown one still gets the 400.
        unknown = client.patch(f"{PERSONS}987654/", json=body)
    # posthog/api/person.py update builds this body by hand, `code` and `detail` swapped.
    expected = {
        "attr": "properties",
        "code": "This field is required.",
        "detail": "required",
        "type": "validation_error",
    }
    assert (response.status_code, response.json()) == (400, expected)
    assert (unknown.status_code, unknown.json()) == (400, expected)


def test_update_of_an_unknown_person_is_404_and_a_non_object_changes_nothing(
    fake: FakePostHog,
) -> None:
    person = _one(fake)
    with fake.client() as client:
        assert client.patch(f"{PERSONS}987654/", json={"properties": {}}).status_code == 404
        # A `$set` of a string is accepted (202) and ignored by ingestion.
        before = client.get(f"{PERSONS}{person['id']}/").json()["properties"]
        assert (
            client.patch(f"{PERSONS}{person['id']}/", json={"properties": "x"}).status_code == 202
        )
        assert client.get(f"{PERSONS}{person['id']}/").json()["properties"] == before


def test_update_property_and_delete_property(api: httpx.Client, fake: FakePostHog) -> None:
    person = _one(fake)
    base = f"{PERSONS}{person['id']}/"
    response = api.post(f"{base}update_property/", json={"key": "tier", "value": 3})
    assert (response.status_code, response.content) == (202, b"")
    assert api.get(base).json()["properties"]["tier"] == 3
    response = api.post(f"{base}delete_property/", json={"$unset": "tier"})
    assert (response.status_code, response.json()) == (201, {"success": True})
    assert "tier" not in api.get(base).json()["properties"]
    assert api.post(f"{base}update_property/", json={"key": "x"}).json()["attr"] == "value"
    assert api.post(f"{base}update_property/", json={"value": 1}).json()["attr"] == "key"
    assert api.post(f"{base}delete_property/", json={"key": "x"}).status_code == 400
    # delete_property looks the person up itself: a distinct id is just not found.
    assert api.post(f"{PERSONS}user-1/delete_property/", json={"$unset": "x"}).status_code == 404


def test_split(fake: FakePostHog) -> None:
    person = fake.add_person(["main", "other-1", "other-2"], {"email": "s@example.com"})
    url = f"{PERSONS}{person['id']}/split/"
    with fake.client() as client:
        response = client.post(url, json={"distinct_ids_to_split": ["other-1"]})
        assert (response.status_code, response.json()) == (201, {"success": True})
        kept = client.get(f"{PERSONS}{person['id']}/").json()
        assert kept["distinct_ids"] == ["main", "other-2"]
        # The original person always keeps its properties.
        assert kept["properties"] == {"email": "s@example.com"}
        assert client.post(url, json={"main_distinct_id": "main"}).status_code == 201
        assert client.get(f"{PERSONS}{person['id']}/").json()["distinct_ids"] == ["main"]
        split_off = client.get(PERSONS, params={"distinct_id": "other-2"}).json()["results"]
    assert split_off[0]["uuid"] != person["uuid"] and split_off[0]["properties"] == {}


def test_split_off_persons_get_deterministic_uuids() -> None:
    # posthog/models/person/missing_person.py uuidFromDistinctId: uuid5 of "team:distinct id";
    # splitPersonUuid ("team:distinct id:split") when that is the original person's UUID.
    namespace = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")
    seeded = str(uuid.uuid5(namespace, "1:anon"))
    fake = FakePostHog([{"distinct_ids": ["anon", "user-9"], "uuid": seeded}], validate=False)
    with fake.client() as client:
        client.post(f"{PERSONS}{seeded}/split/", json={"main_distinct_id": "user-9"})
    moved = fake.get_person("anon")
    assert moved is not None and moved["uuid"] == str(uuid.uuid5(namespace, "1:anon:split"))
    other = FakePostHog([{"distinct_ids": ["a", "b"]}], validate=False, project_id=7)
    with other.client() as client:
        client.post("/api/projects/7/persons/1/split/", json={})
    assert other.get_person("b") == {
        **other.get_person("b"),
        "uuid": str(uuid.uuid5(namespace, "7:b")),
    }


@pytest.mark.parametrize(
    ("body", "detail", "attr"),
    [
        ({"distinct_ids_to_split": []}, "must not be empty", "distinct_ids_to_split"),
        (
            {"distinct_ids_to_split": "other-1"},
            "must be a list of strings",
            "distinct_ids_to_split",
        ),
        ({"distinct_ids_to_split": [1]}, "must be a list of strings", "distinct_ids_to_split"),
        (
            {"distinct_ids_to_split": ["other-1", "zz", "aa"]},
            "not on this person: ['aa', 'zz']",
            "distinct_ids_to_split",
        ),
        (
            {"main_distinct_id": "main", "distinct_ids_to_split": ["other-1"]},
            "main_distinct_id cannot be combined with distinct_ids_to_split",
            None,
        ),
    ],
)
def test_split_validation(body: dict[str, Any], detail: str, attr: str | None) -> None:
    # posthog/api/person.py split, after the person is found.
    fake = FakePostHog([{"distinct_ids": ["main", "other-1"]}], validate=False)
    with fake.client() as client:
        response = client.post(f"{PERSONS}1/split/", json=body)
        assert client.post(f"{PERSONS}99/split/", json=body).status_code == 404
    assert response.status_code == 400
    assert (response.json()["detail"], response.json()["attr"]) == (detail, attr)
    assert fake.pending_changes == 0


def test_split_with_a_main_id_the_person_lacks_moves_every_id_off() -> None:
    # Person.split_person keeps only main_distinct_id; the view does not check it is there.
    fake = FakePostHog([{"distinct_ids": ["a", "b"], "properties": {"p": 1}}], validate=False)
    with fake.client() as client:
        assert client.post(f"{PERSONS}1/split/", json={"main_distinct_id": "zz"}).status_code == 201
        original = client.get(f"{PERSONS}1/").json()
    assert original["distinct_ids"] == [] and original["name"] == "1"
    assert {p["distinct_ids"][0] for p in fake.persons if p["id"] != 1} == {"a", "b"}


def test_split_of_a_person_left_without_distinct_ids_is_queued_not_a_crash() -> None:
    # Schemathesis found it: after a split moved every id off, a default split (no main id)
    # crashed the emulator's server thread. The view only queues the task: 201, nothing moves.
    fake = FakePostHog([{"distinct_ids": ["a"], "properties": {}}], validate=False)
    with fake.client() as client:
        assert client.post(f"{PERSONS}1/split/", json={"main_distinct_id": "zz"}).status_code == 201
        assert client.post(f"{PERSONS}1/split/", json={}).status_code == 201
        assert client.get(f"{PERSONS}1/").json()["distinct_ids"] == []
    assert len(fake.persons) == 2


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


def test_deletion_status_pagination(fake: FakePostHog) -> None:
    uuids = [p["uuid"] for p in fake.persons[:5]]
    with fake.client() as client:
        client.post(f"{PERSONS}bulk_delete/", json={"ids": uuids, "delete_events": True})
        page = client.get(f"{PERSONS}deletion_status/", params={"limit": 2, "status": "all"}).json()
        assert page["count"] == 5 and len(page["results"]) == 2
        # DRF's replace_query_param: the query re-encoded with its keys sorted.
        assert page["next"].endswith("deletion_status/?limit=2&offset=2&status=all")
        last = client.get(f"{PERSONS}deletion_status/", params={"limit": 2, "offset": 4}).json()
        assert last["next"] is None and last["previous"].endswith("?limit=2&offset=2")
        back = client.get(f"{PERSONS}deletion_status/", params={"limit": 2, "offset": 1}).json()
        assert back["previous"].endswith("deletion_status/?limit=2")


@pytest.mark.parametrize("validate", [False, True])
def test_deletion_status_has_no_maximum_and_bad_bounds_fall_back(validate: bool) -> None:
    # posthog/api/person.py DeletionStatusPagination: DRF LimitOffsetPagination, default 100,
    # no max_limit; get_limit/get_offset fall back on junk instead of failing (no 400).
    fake = FakePostHog(300, seed=6, validate=validate)
    with fake.client() as client:
        uuids = [p["uuid"] for p in fake.persons]
        for batch in (uuids[:150], uuids[150:]):
            body = {"ids": batch, "delete_events": True, "keep_person": True}
            assert client.post(f"{PERSONS}bulk_delete/", json=body).status_code == 202

        def rows(**params: Any) -> tuple[int, int]:
            response = client.get(f"{PERSONS}deletion_status/", params=params)
            assert response.status_code == 200, (params, response.text)
            return len(response.json()["results"]), response.json()["count"]

        assert rows(limit=100_000) == (300, 300)
        for junk in ("x", "-5", "0", "", "1.5"):
            assert rows(limit=junk) == (100, 300), junk
        assert rows(limit=10, offset="x") == rows(limit=10, offset=0) == (10, 300)
        assert rows(limit=10, offset="-1") == (10, 300)
    assert fake.contract_errors == []


@pytest.mark.parametrize("params", [{"status": "done"}, {"person_uuid": "1"}])
def test_deletion_status_bad_filters_are_400(fake: FakePostHog, params: dict[str, str]) -> None:
    # DeletionStatusQueryParamsSerializer validates these two.
    with fake.client() as client:
        response = client.get(f"{PERSONS}deletion_status/", params=params)
    assert response.status_code == 400
    assert response.json()["attr"] == next(iter(params))


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
    # Kept and still served; its event deletion is queued all the same (posthog/api/person.py
    # _bulk_delete_persons queues events for every person found, after the profile step).
    assert api.get(f"{PERSONS}{second['id']}/").status_code == 200
    assert api.get(f"{PERSONS}{first['id']}/").status_code == 404
    statuses = api.get(f"{PERSONS}deletion_status/").json()["results"]
    assert {s["person_uuid"] for s in statuses} == {first["uuid"], second["uuid"]}
    # With keep_person no profile is deleted, so nothing can fail.
    body = {"distinct_ids": [second["distinct_ids"][0]], "keep_person": True, "delete_events": True}
    summary = api.post(f"{PERSONS}bulk_delete/", json=body).json()
    assert summary["deletion_errors"] == []
    assert (summary["persons_found"], summary["persons_deleted"]) == (1, 0)
    assert summary["events_queued_for_deletion"] is True
    # Once deletable again, the same request goes through.
    fake.make_deletable(second["uuid"], "not-a-uuid")
    summary = api.post(f"{PERSONS}bulk_delete/", json={"ids": [second["uuid"]]}).json()
    assert (summary["persons_deleted"], summary["deletion_errors"]) == (1, [])
    assert fake.get_person(third["id"]) is not None


def test_queued_deletion_answers_like_newer_deployments_and_deletes_later() -> None:
    moment = [1_000.0]
    fake = FakePostHog(
        10, seed=5, queued_deletion=True, queued_deletion_delay=30, clock=lambda: moment[0]
    )
    uuids = [p["uuid"] for p in fake.persons[:4]]
    fake.make_undeletable(uuids[3])
    with fake.client() as client:
        body = {"ids": uuids, "delete_events": True}
        response = client.post(f"{PERSONS}bulk_delete/", json=body)
        assert response.status_code == 202
        assert response.json() == {
            "persons_found": 4,
            "persons_deleted": 0,
            "events_queued_for_deletion": True,
            "recordings_queued_for_deletion": False,
            "deletion_errors": [{"person_uuid": uuids[3]}],
            "persons_queued_for_deletion": 3,
        }
        # Accepted, not gone yet: still found by the lookup the client waits with.
        found = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": uuids}).json()
        assert set(found["results"]) == set(uuids)
        assert fake.queued_for_deletion == set(uuids[:3])
        moment[0] += 29
        assert len(client.get(PERSONS).json()["results"]) == 10
        moment[0] += 1
        found = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": uuids}).json()
        assert set(found["results"]) == {uuids[3]}
        assert fake.queued_for_deletion == set()
        # keep_person queues nothing.
        body = {"ids": [uuids[3]], "keep_person": True, "delete_events": True}
        kept = client.post(f"{PERSONS}bulk_delete/", json=body).json()
        assert (kept["persons_deleted"], kept["persons_queued_for_deletion"]) == (0, 0)
    assert {s["person_uuid"] for s in fake.deletion_statuses()} == set(uuids)
    assert fake.contract_errors == []


def test_queued_deletion_without_a_delay_is_done_by_the_next_request() -> None:
    fake = FakePostHog(3, seed=5, validate=False, queued_deletion=True)
    target = fake.persons[0]
    with fake.client() as client:
        summary = client.post(f"{PERSONS}bulk_delete/", json={"ids": [target["uuid"]]}).json()
        assert summary["persons_queued_for_deletion"] == 1
        assert client.get(f"{PERSONS}{target['uuid']}/").status_code == 404


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
    assert "persons_queued_for_deletion" not in summary
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
