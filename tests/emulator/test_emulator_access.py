"""Scopes, the legacy and gone endpoints, and unmapped methods, as the 2026 server has them.

Scopes follow posthog/permissions.py APIScopePermission.has_permission; the routes follow
posthog/api/person.py PersonViewSet (its actions and their `required_scopes`).
"""

from __future__ import annotations

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog

NO_PAK = "This action does not support Personal API Key access"


def _as(fake: FakePostHog, key: str, scopes: list[str]) -> httpx.Client:
    fake.add_api_key(key, scopes)
    return fake.client(headers={"Authorization": f"Bearer {key}"})


def test_a_write_scope_grants_the_read_scope(fake: FakePostHog) -> None:
    # "For all valid scopes with :read we also add :write".
    with _as(fake, "phx_writer", ["person:write"]) as client:
        assert client.get(PERSONS).status_code == 200
        assert client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": []}).status_code == 200
        assert (
            client.post(
                f"{PERSONS}bulk_delete/", json={"ids": [fake.persons[0]["uuid"]]}
            ).status_code
            == 202
        )
        # cohorts needs person:read AND cohort:read; the write scope of each will do.
        person_id = fake.persons[1]["id"]
        refused = client.get(f"{PERSONS}cohorts/", params={"person_id": person_id})
        assert refused.status_code == 403
        assert refused.json()["detail"] == "API key missing required scope 'cohort:read'"
    with _as(fake, "phx_both", ["person:write", "cohort:write"]) as client:
        response = client.get(f"{PERSONS}cohorts/", params={"person_id": person_id})
        assert response.status_code == 200


def test_a_read_scope_does_not_grant_write(fake: FakePostHog) -> None:
    with _as(fake, "phx_reader", ["person:read"]) as client:
        response = client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ["a"]})
    assert response.status_code == 403
    assert response.json() == {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": "API key missing required scope 'person:write'",
        "attr": None,
    }


def test_a_star_key_has_every_declared_scope(fake: FakePostHog) -> None:
    person = fake.persons[0]
    with _as(fake, "phx_star", ["*"]) as client:
        assert (
            client.get(f"{PERSONS}cohorts/", params={"person_id": person["id"]}).status_code == 200
        )
        assert client.get(f"{PERSONS}activity/").status_code == 200
        assert (
            client.post(f"{PERSONS}bulk_delete/", json={"ids": [person["uuid"]]}).status_code == 202
        )
        # ... but not the actions that declare none: that check comes before the `*` one.
        response = client.get(f"{PERSONS}trends/")
    assert response.status_code == 403 and response.json()["detail"] == NO_PAK


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "funnel/"),
        ("POST", "funnel/"),
        ("GET", "trends/"),
        ("GET", "lifecycle/?target_date=2024-01-01&lifecycle_type=new"),
        ("GET", "{id}/properties_timeline/"),
    ],
)
def test_actions_without_a_scope_refuse_scoped_keys(
    fake: FakePostHog, method: str, suffix: str
) -> None:
    url = PERSONS + suffix.format(id=fake.persons[0]["id"])
    with fake.client() as client:
        response = client.request(method, url, json={} if method == "POST" else None)
    assert response.status_code == 403
    assert response.json()["detail"] == NO_PAK
    assert fake.requests[-1].operation in {
        "funnel",
        "trends",
        "lifecycle",
        "persons_properties_timeline_retrieve",
    }


def test_a_legacy_key_without_scopes_may_use_them(fake: FakePostHog) -> None:
    # "Legacy Personal API keys have no scopes and are allowed to do anything".
    person_id = fake.persons[0]["id"]
    with _as(fake, "phx_legacy", []) as client:
        funnel = client.get(f"{PERSONS}funnel/").json()
        assert funnel["results"] == [{"people": [], "count": 0}] and funnel["next"] is None
        assert funnel["missing_persons"] == 0 and "initial" in funnel
        assert client.post(f"{PERSONS}funnel/", json={}).status_code == 200
        assert client.get(f"{PERSONS}trends/").status_code == 200
        timeline = client.get(f"{PERSONS}{person_id}/properties_timeline/").json()
        assert timeline["points"] == [] and timeline["effective_date_from"]
        # lifecycle needs its two parameters, and says so in its own body.
        missing = client.get(f"{PERSONS}lifecycle/", params={"lifecycle_type": "new"})
        assert missing.status_code == 400
        assert missing.json() == {
            "message": "Missing parameter",
            "detail": "Must include specified date",
        }
        ok = client.get(
            f"{PERSONS}lifecycle/", params={"target_date": "2024-01-01", "lifecycle_type": "new"}
        )
        assert ok.json() == {"results": [{"people": [], "count": 0}], "next": None}
        assert (
            client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ["x"]}).status_code == 202
        )


def test_stickiness_is_a_retrieve_of_a_person_called_stickiness(
    api: httpx.Client, fake: FakePostHog
) -> None:
    # No stickiness action any more: the detail route takes "stickiness" as a person id.
    response = api.get(f"{PERSONS}stickiness/")
    assert response.status_code == 400
    assert "does not look like a personID" in response.json()["detail"]
    assert fake.requests[-1].operation == "persons_retrieve"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_funnel_correlation_matches_no_route(fake: FakePostHog, method: str) -> None:
    with fake.client() as client:
        response = client.request(method, f"{PERSONS}funnel/correlation/")
        anonymous = client.request(
            method, f"{PERSONS}funnel/correlation/", headers={"Authorization": ""}
        )
    # Django's resolver answers before any authentication.
    assert response.status_code == anonymous.status_code == 404
    assert fake.requests[-1].operation is None


def test_an_unmapped_method_needs_a_legacy_key_to_see_its_405(fake: FakePostHog) -> None:
    # DRF leaves `view.action` None for it; APIScopePermission finds no scope for None.
    with fake.client() as client:
        refused = client.delete(PERSONS)
        assert (refused.status_code, refused.json()["detail"]) == (403, NO_PAK)
        # A list-level PATCH is the "patch" write action (ScopeBasePermission._get_action).
        assert client.patch(PERSONS, json={}).status_code == 405
    with _as(fake, "phx_reader", ["person:read"]) as reader:
        assert reader.patch(PERSONS, json={}).status_code == 403
    with _as(fake, "phx_legacy", []) as client:
        response = client.delete(PERSONS)
    assert response.status_code == 405
    assert response.json()["detail"] == 'Method "DELETE" not allowed.'
    assert response.headers["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_creating_a_person_is_refused_with_the_servers_reason(api: httpx.Client) -> None:
    response = api.post(PERSONS, json={"distinct_ids": ["new"]})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert response.json()["detail"].startswith("Creating persons via this API is not allowed.")


def test_options_and_head_are_served_as_drf_does(fake: FakePostHog) -> None:
    # APIView.options answers metadata with `Allow` (the read scope suffices, per
    # ScopeBasePermission); ViewSetMixin maps HEAD to the GET action.
    with fake.client() as client:
        options = client.options(f"{PERSONS}1/")
        head = client.head(f"{PERSONS}1/")
        assert client.options(f"{PERSONS}bulk_delete/").headers["Allow"] == "POST, OPTIONS"
    assert options.status_code == 200 and options.json()["name"] == "Person Instance"
    assert options.headers["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    assert head.status_code == 200
    assert fake.requests[-2].operation == "persons_retrieve"
    with _as(fake, "phx_none", ["cohort:read"]) as client:
        assert client.options(PERSONS).status_code == 403
