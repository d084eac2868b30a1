"""The generated package: public entry points (contract C1), and what it sends and parses."""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import httpx
import pytest
from persons_codegen import generate
from pipeline_support import ROOT
from posthog_persons_api import AuthenticatedClient
from posthog_persons_api.api.persons import (
    persons_batch_by_uuids_create,
    persons_bulk_delete_create,
    persons_delete_property_create,
    persons_list,
    persons_partial_update,
)

UUID = "018f0c5e-7a7b-7000-8000-000000000001"
PACKAGE = ROOT / "generated" / "posthog_persons_api"


def recording_client(
    status: int, body: object, headers: dict[str, str] | None = None
) -> tuple[AuthenticatedClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body, headers=headers)

    client = AuthenticatedClient(base_url="https://us.posthog.com", token="phx_test_key")
    client.set_httpx_client(
        httpx.Client(base_url="https://us.posthog.com", transport=httpx.MockTransport(handler))
    )
    return client, seen


def test_every_operation_module_has_the_public_entry_points() -> None:
    schema = json.loads((PACKAGE / "openapi.json").read_text())
    modules = generate.module_functions(PACKAGE)
    assert len(modules) == 20
    for _, _, operation in generate.operations(schema):
        name = operation["operationId"]
        module = importlib.import_module(f"posthog_persons_api.api.persons.{name}")
        assert {"build_request", "sync", "sync_detailed", "asyncio", "asyncio_detailed"} <= set(
            modules[name]
        )
        # build_request takes what sync_detailed takes, minus the client.
        detailed = inspect.signature(module.sync_detailed).parameters
        built = inspect.signature(module.build_request).parameters
        assert list(built) == [p for p in detailed if p != "client"]
        assert hasattr(module, "body_from_dict") == ("requestBody" in operation), name


def test_build_request_is_what_sync_detailed_sends() -> None:
    filters = json.dumps([{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}])
    request = persons_list.build_request("7", properties=filters, limit=100)
    assert request == {
        "method": "get",
        "url": "/api/projects/7/persons/",
        "params": {"properties": filters, "limit": 100},
    }
    client, seen = recording_client(200, {"results": [], "next": None, "previous": None})
    persons_list.sync_detailed("7", client=client, properties=filters, limit=100)
    (sent,) = seen
    assert sent.method == "GET" and sent.url.path == request["url"]
    assert sent.url.params["properties"] == filters  # one JSON-encoded string, as the server reads


def test_list_parses_actors_with_the_uuid_in_id() -> None:
    actor = {
        "id": UUID,
        "uuid": UUID,
        "type": "person",
        "is_identified": True,
        "name": "a@example.com",
        "distinct_ids": ["a"],
        "properties": {"email": "a@example.com"},
        "created_at": "2026-01-02T03:04:05Z",
        "matched_recordings": [],
        "value_at_data_point": None,
        "a_new_field": 1,
    }
    client, _ = recording_client(200, {"results": [actor], "next": None, "previous": None})
    page: Any = persons_list.sync("7", client=client)
    (parsed,) = page.results
    assert str(parsed.id) == UUID  # a string UUID (format uuid), never the numeric id
    assert parsed.additional_properties == {"a_new_field": 1}


def test_bulk_delete_body_from_dict_and_the_queued_answer() -> None:
    summary = {
        "persons_found": 2,
        "persons_deleted": 0,
        "persons_queued_for_deletion": 2,
        "events_queued_for_deletion": True,
        "recordings_queued_for_deletion": False,
        "deletion_errors": [],
    }
    client, seen = recording_client(202, summary)
    body = persons_bulk_delete_create.body_from_dict(
        {"distinct_ids": ["a", "b"], "delete_events": True}
    )
    response = persons_bulk_delete_create.sync_detailed("42", client=client, body=body)
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/projects/42/persons/bulk_delete/"
    assert json.loads(request.content)["distinct_ids"] == ["a", "b"]
    assert json.loads(request.content)["delete_events"] is True
    assert response.status_code == 202
    parsed: Any = response.parsed
    assert parsed.persons_deleted == 0
    assert parsed.persons_queued_for_deletion == 2


def test_batch_lookup_and_property_bodies() -> None:
    client, seen = recording_client(201, {"success": True})
    persons_delete_property_create.sync_detailed(
        "1",
        UUID,
        client=client,
        body=persons_delete_property_create.body_from_dict({"$unset": "plan"}),
    )
    assert json.loads(seen[0].content) == {"$unset": "plan"}
    assert seen[0].url.path == f"/api/projects/1/persons/{UUID}/delete_property/"

    person = {
        "id": 5,
        "uuid": UUID,
        "name": "a",
        "distinct_ids": ["a"],
        "properties": {},
        "created_at": "2026-01-02T03:04:05Z",
        "last_seen_at": None,
    }
    client, seen = recording_client(200, {"results": {UUID: person}})
    found = persons_batch_by_uuids_create.sync_detailed(
        "1", client=client, body=persons_batch_by_uuids_create.body_from_dict({"uuids": [UUID]})
    )
    assert json.loads(seen[0].content) == {"uuids": [UUID]}
    parsed: Any = found.parsed
    assert parsed.results.additional_properties[UUID].id == 5


@pytest.mark.parametrize("status", [429])
def test_throttled_answers_parse_and_keep_retry_after(status: int) -> None:
    client, _ = recording_client(
        status, {"type": "throttled_error", "detail": "slow down"}, {"Retry-After": "7"}
    )
    response = persons_partial_update.sync_detailed(
        "1",
        UUID,
        client=client,
        body=persons_partial_update.body_from_dict({"properties": {"plan": "pro"}}),
    )
    assert response.headers["Retry-After"] == "7"
    parsed: Any = response.parsed
    assert parsed.detail == "slow down"
