"""The generated package imports and sends what the server expects."""

from __future__ import annotations

import json

import httpx
from posthog_persons_api import AuthenticatedClient
from posthog_persons_api.api.environments import environments_persons_list
from posthog_persons_api.api.persons import (
    persons_batch_by_uuids_create,
    persons_bulk_delete_create,
    persons_delete_property_create,
    persons_list,
)
from posthog_persons_api.models import (
    PersonBatchByUuidsRequest,
    PersonBulkDeleteRequest,
    PersonBulkDeleteSummary,
    PersonDeletePropertyRequest,
)


def recording_client(status: int, body: object) -> tuple[AuthenticatedClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    client = AuthenticatedClient(base_url="https://us.posthog.com", token="phx_test_key")
    client.set_httpx_client(
        httpx.Client(
            base_url="https://us.posthog.com",
            transport=httpx.MockTransport(handler),
            headers={"Authorization": "Bearer phx_test_key"},
        )
    )
    return client, seen


def test_bulk_delete_sends_a_json_body_and_parses_the_202_summary() -> None:
    summary = {
        "persons_found": 2,
        "persons_deleted": 2,
        "events_queued_for_deletion": True,
        "deletion_errors": [],
        "persons_queued_for_deletion": 2,
    }
    client, seen = recording_client(202, summary)
    response = persons_bulk_delete_create.sync_detailed(
        "42",
        client=client,
        body=PersonBulkDeleteRequest(distinct_ids=["a", "b"], delete_events=True),
    )
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/projects/42/persons/bulk_delete/"
    assert request.url.query == b""
    assert json.loads(request.content) == {
        "distinct_ids": ["a", "b"],
        "delete_events": True,
        "delete_recordings": False,
        "keep_person": False,
    }
    assert response.status_code == 202
    assert isinstance(response.parsed, PersonBulkDeleteSummary)
    assert response.parsed.persons_deleted == 2
    # A field newer servers add is kept, not fatal.
    assert response.parsed.additional_properties == {"persons_queued_for_deletion": 2}


def test_list_sends_properties_as_one_json_string_in_both_scopes() -> None:
    page = {"results": [], "next": None, "previous": None}
    filters = json.dumps([{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}])
    for module, prefix in ((persons_list, "projects"), (environments_persons_list, "environments")):
        client, seen = recording_client(200, page)
        module.sync_detailed("7", client=client, properties=filters, limit=100)
        (request,) = seen
        assert request.method == "GET"
        assert request.url.path == f"/api/{prefix}/7/persons/"
        assert request.url.params["properties"] == filters
        assert request.url.params["limit"] == "100"


def test_delete_property_and_batch_lookup_bodies() -> None:
    client, seen = recording_client(201, {"success": True})
    persons_delete_property_create.sync_detailed(
        "1",
        "018f0c5e-7a7b-7000-8000-000000000001",
        client=client,
        body=PersonDeletePropertyRequest(unset="plan"),
    )
    assert json.loads(seen[0].content) == {"$unset": "plan"}
    assert (
        seen[0].url.path
        == "/api/projects/1/persons/018f0c5e-7a7b-7000-8000-000000000001/delete_property/"
    )
    client, seen = recording_client(200, {"results": {}})
    persons_batch_by_uuids_create.sync_detailed(
        "1", client=client, body=PersonBatchByUuidsRequest(uuids=["u1"])
    )
    assert seen[0].url.path == "/api/projects/1/persons/batch_by_uuids/"
    assert json.loads(seen[0].content) == {"uuids": ["u1"]}
