"""The emulator's exchanges checked against the committed OpenAPI contract (openapi-core)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import EmulatorContractError, FakePostHog, find_schema

SCHEMA = find_schema()
pytestmark = pytest.mark.skipif(SCHEMA is None, reason="no committed schema yet")


def _success_calls(fake: FakePostHog) -> list[tuple[str, str, Any]]:
    """One successful call of every operation the 2026 server serves to API keys."""
    person = fake.persons[0]
    pid, puid, did = person["id"], person["uuid"], person["distinct_ids"][0]
    fake.add_person(["pat"], {"plan": "pro", "logins": 3})
    filters = json.dumps([{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}])
    return [
        ("GET", f"{PERSONS}?limit=10&offset=10&include_total=1", None),
        ("GET", f"{PERSONS}?properties={filters}&search=example", None),
        ("GET", f"/api/environments/1/persons/{pid}/", None),
        ("GET", f"{PERSONS}{puid}/", None),
        ("PUT", f"{PERSONS}{pid}/", {"properties": {"a": 1}}),
        ("PATCH", f"{PERSONS}{pid}/", {"properties": {"b": 2}}),
        ("POST", f"{PERSONS}{pid}/update_property/", {"key": "c", "value": [1]}),
        ("POST", f"{PERSONS}{pid}/delete_property/", {"$unset": "c"}),
        ("POST", f"{PERSONS}batch_by_distinct_ids/", {"distinct_ids": [did, "x"]}),
        ("POST", f"{PERSONS}batch_by_uuids/", {"uuids": [puid]}),
        ("GET", f"{PERSONS}properties_at_time/?distinct_id=pat&timestamp=2030-01-01", None),
        ("GET", f"{PERSONS}values/?key=plan", None),
        ("GET", f"{PERSONS}cohorts/?person_id={pid}", None),
        ("GET", f"{PERSONS}activity/", None),
        ("GET", f"{PERSONS}{pid}/activity/", None),
        ("GET", f"{PERSONS}{pid}/emails/", None),
        ("GET", f"{PERSONS}{pid}/push_notifications/", None),
        ("GET", f"{PERSONS}{pid}/properties_timeline/", None),
        ("POST", f"{PERSONS}reset_person_distinct_id/", {"distinct_id": "gone"}),
        ("POST", f"{PERSONS}{fake.persons[1]['id']}/split/", {}),
        ("GET", f"{PERSONS}deletion_status/?status=pending&limit=1", None),
        ("GET", f"{PERSONS}deletion_status/?limit=junk", None),
        # Hidden from the schema but still served: answered, not validated.
        ("POST", f"{PERSONS}{pid}/delete_recordings/", None),
        ("DELETE", f"{PERSONS}{fake.persons[2]['id']}/?delete_events=true", None),
        ("GET", f"{PERSONS}funnel/", None),
        ("GET", f"{PERSONS}lifecycle/?target_date=2024-01-01&lifecycle_type=new", None),
        ("POST", f"{PERSONS}bulk_delete/", {"ids": [puid], "delete_events": True}),
        ("POST", f"{PERSONS}bulk_delete/", {"distinct_ids": ["nobody"]}),
    ]


def test_success_paths_conform() -> None:
    fake = FakePostHog(60, seed=1, scopes=[])  # a legacy key reaches properties_timeline too
    with fake.client() as client:
        for method, url, body in _success_calls(fake):
            response = client.request(method, url, json=body)
            assert response.status_code < 300, (method, url, response.text)
    assert fake.contract_errors == []
    assert fake.requests[-5].operation == "persons_destroy"


def test_queued_deletion_answers_conform() -> None:
    fake = FakePostHog(5, seed=1, queued_deletion=True)
    with fake.client() as client:
        body = {"ids": [p["uuid"] for p in fake.persons], "delete_events": True}
        assert client.post(f"{PERSONS}bulk_delete/", json=body).status_code == 202
    assert fake.contract_errors == []


def test_properties_at_time_with_non_string_values_conforms() -> None:
    # The server sends the point-in-time values as they were set (PersonViewSet.
    # properties_at_time replaces `properties` after serialising); the overlay says so.
    props = {"logins": 3, "pro": True, "tags": ["a"], "plan": None}
    fake = FakePostHog([{"distinct_ids": ["d"], "properties": props}], seed=1)
    with fake.client() as client:
        response = client.get(
            f"{PERSONS}properties_at_time/", params={"distinct_id": "d", "timestamp": "2030-01-01"}
        )
    assert response.status_code == 200
    assert response.json()["properties"] == props
    assert fake.contract_errors == []


@pytest.mark.parametrize("action", ["activity", "emails", "push_notifications"])
def test_detail_actions_accept_a_uuid(action: str) -> None:
    # They get their person with get_object() -> PersonViewSet.safely_get_object (numeric id
    # or UUID); the overlay types their {id} as a string.
    fake = FakePostHog(2, seed=1)
    with fake.client() as client:
        response = client.get(f"{PERSONS}{fake.persons[0]['uuid']}/{action}/")
        missing = client.get(f"{PERSONS}00000000-0000-4000-8000-000000000000/{action}/")
    assert response.status_code == 200, response.text
    assert missing.status_code == 404
    assert fake.contract_errors == []


def test_properties_timeline_accepts_a_uuid() -> None:
    fake = FakePostHog(1, seed=1, scopes=[])  # declares no scope: a legacy (unscoped) key only
    with fake.client() as client:
        response = client.get(f"{PERSONS}{fake.persons[0]['uuid']}/properties_timeline/")
    assert response.status_code == 200, response.text
    assert fake.contract_errors == []


def test_error_paths_conform() -> None:
    fake = FakePostHog(5, seed=1, rate_limit_per_minute=1)
    fake.add_api_key("phx_reader", ["person:read"])
    with fake.client() as client:
        assert client.get(PERSONS).status_code == 200
        assert client.get(PERSONS).status_code == 429
        assert client.get(PERSONS, headers={"Authorization": "Bearer bad"}).status_code == 401
        reader = {"Authorization": "Bearer phx_reader"}
        assert client.post(f"{PERSONS}bulk_delete/", headers=reader, json={}).status_code == 403
        assert client.post(f"{PERSONS}bulk_delete/", json={}).status_code == 400
        assert client.get("/api/projects/9/persons/", headers=reader).status_code == 404
        fake.advance(60)
        assert client.get(f"{PERSONS}987654/", headers=reader).status_code == 404
        fake.advance(60)
        assert client.get(f"{PERSONS}user-1/", headers=reader).status_code == 400
        fake.advance(60)
        missing = client.get(
            f"{PERSONS}properties_at_time/",
            headers=reader,
            params={"distinct_id": "nobody", "timestamp": "2030-01-01"},
        )
        assert missing.status_code == 404
    assert fake.contract_errors == []


def test_request_violations_are_400_naming_the_problem() -> None:
    fake = FakePostHog(5, seed=1)
    with fake.client() as client:
        for path in (PERSONS, "/api/environments/1/persons/"):
            # The environments path is checked against the projects operation.
            response = client.get(path, params={"limit": "many"})
            assert response.status_code == 400, path
            assert response.json()["attr"] == "limit"
            assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_update_without_properties_is_400(method: str) -> None:
    # PATCH is partial_update -> the overridden PersonViewSet.update, which answers 400 when
    # request.data["properties"] is missing or null, as for PUT; the overlay requires it.
    fake = FakePostHog(1, seed=1)
    url = f"{PERSONS}{fake.persons[0]['id']}/"
    with fake.client() as client:
        for body in ({}, {"properties": None}):
            response = client.request(method, url, json=body)
            assert response.status_code == 400, body
            assert "properties" in response.json()["detail"], body
        assert client.request(method, url).status_code == 400
        assert client.request(method, url, json={"properties": {"a": 1}}).status_code == 202
    assert fake.contract_errors == []


def _broken_schema(tmp_path: Path) -> Path:
    """The committed schema with PersonRecord's numeric `id` and the error bodies' `detail`
    declared the wrong type."""
    assert SCHEMA is not None
    spec = json.loads(SCHEMA.read_text())
    spec["components"]["schemas"]["PersonRecord"]["properties"]["id"] = {"type": "string"}
    spec["components"]["schemas"]["ErrorBody"]["properties"]["detail"] = {"type": "integer"}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(spec))
    return path


def test_a_response_breaking_the_contract_fails_loudly(tmp_path: Path) -> None:
    fake = FakePostHog(1, schema_path=_broken_schema(tmp_path))
    with fake.client() as client:
        with pytest.raises(EmulatorContractError):
            client.get(f"{PERSONS}1/")
        # The environments path is held to the projects operation's answer too.
        with pytest.raises(EmulatorContractError):
            client.get("/api/environments/1/persons/1/")
        # So are the pipeline's own refusals (here a 401).
        with pytest.raises(EmulatorContractError):
            client.get(f"{PERSONS}1/", headers={"Authorization": "Bearer nope"})
    with fake.serve() as server:
        response = httpx.get(
            f"{server.url}{PERSONS}1/", headers={"Authorization": f"Bearer {fake.api_key}"}
        )
    assert response.status_code == 500
    assert response.json()["code"] == "emulator_contract_error"
    assert len(fake.contract_errors) == 4


def test_rewritten_answers_are_not_held_to_the_contract() -> None:
    fake = FakePostHog(1, seed=1)
    fake.override("persons_batch_by_uuids_create", json={"results": None})
    fake.transform("persons_retrieve", lambda body: {**body, "id": "not-an-int"})
    with fake.client() as client:
        lookup = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": []})
        record = client.get(f"{PERSONS}1/")
    assert lookup.json() == {"results": None}
    assert record.json()["id"] == "not-an-int"
    assert fake.contract_errors == []
    assert [r.rewritten for r in fake.requests] == [True, True]
