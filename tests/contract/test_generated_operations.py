"""Every generated operation, in both scopes, against recorded server answers.

Each call must get one of the operation's documented success statuses and parse into its
documented model; the cassette check (test_cassettes.py) then validates every recorded
exchange against the committed schema.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import typing
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from cassette_support import Target
from posthog_persons_api import Client
from posthog_persons_api.models import ErrorBody, PaginatedPersonList
from posthog_persons_api.types import Unset

SCHEMA_OPERATIONS = json.loads(
    (importlib.resources.files("posthog_persons_api") / "openapi.json").read_text()
)


def _modules() -> dict[str, ModuleType]:
    found = {}
    for group in ("persons", "environments"):
        package = importlib.import_module(f"posthog_persons_api.api.{group}")
        for info in pkgutil.iter_modules(package.__path__):
            found[info.name] = importlib.import_module(f"{package.__name__}.{info.name}")
    return found


MODULES = _modules()


def _success_statuses(operation_id: str) -> set[int]:
    for item in SCHEMA_OPERATIONS["paths"].values():
        for operation in item.values():
            if operation.get("operationId") == operation_id:
                return {int(code) for code in operation["responses"] if code.startswith("2")}
    raise KeyError(operation_id)


def _body(function: Callable[..., Any], data: dict[str, Any]) -> Any:
    """Build the operation's body model from plain data, whatever the generator named it."""
    hint = typing.get_type_hints(function)["body"]
    model = next(arg for arg in typing.get_args(hint) or (hint,) if arg is not Unset)
    return model.from_dict(data)


class Sample:
    """Ids discovered through the list endpoint, so a re-recording against a real project works."""

    def __init__(self, client: Client, project_id: str, scope: str) -> None:
        listing = MODULES[f"{scope}persons_list"].sync_detailed(project_id, client=client, limit=10)
        assert listing.status_code == 200
        assert isinstance(listing.parsed, PaginatedPersonList)
        people = listing.parsed.results
        assert len(people) >= 3, "the recorded project needs at least three persons"
        self.person = people[0]
        self.uuid = str(people[0].uuid)
        self.distinct_id = people[0].distinct_ids[0]
        self.other = people[1]
        self.victim = people[2]
        self.multi = next((p for p in people if len(p.distinct_ids) > 1), None)


# Suffix of the operation id -> the call made (scope prefix stripped).
CALLS: dict[str, Callable[[Callable[..., Any], str, Client, Sample], Any]] = {
    "list": lambda f, p, c, s: f(
        p,
        client=c,
        limit=5,
        properties=json.dumps(
            [{"key": "email", "operator": "is_set", "type": "person", "value": "is_set"}]
        ),
    ),
    "retrieve": lambda f, p, c, s: f(p, s.uuid, client=c),
    "update": lambda f, p, c, s: f(
        p, s.uuid, client=c, body=_body(f, {"properties": {"plan": "pro"}})
    ),
    "partial_update": lambda f, p, c, s: f(
        p, s.uuid, client=c, body=_body(f, {"properties": {"contract_test": True}})
    ),
    "destroy": lambda f, p, c, s: f(p, str(s.victim.uuid), client=c, delete_events=True),
    "activity_retrieve": lambda f, p, c, s: f(p, client=c),
    "activity_retrieve_2": lambda f, p, c, s: f(p, s.uuid, client=c),
    "bulk_delete_create": lambda f, p, c, s: f(
        p, client=c, body=_body(f, {"distinct_ids": [s.victim.distinct_ids[0], "no-such-id"]})
    ),
    "cohorts_retrieve": lambda f, p, c, s: f(p, client=c, person_id=s.uuid),
    "delete_events_create": lambda f, p, c, s: f(p, s.uuid, client=c),
    "delete_recordings_create": lambda f, p, c, s: f(p, s.uuid, client=c),
    "delete_property_create": lambda f, p, c, s: f(
        p, s.uuid, client=c, body=_body(f, {"$unset": "plan"})
    ),
    "update_property_create": lambda f, p, c, s: f(
        p, s.uuid, client=c, body=_body(f, {"key": "plan", "value": "enterprise"})
    ),
    "split_create": lambda f, p, c, s: f(
        p,
        str((s.multi or s.person).uuid),
        client=c,
        body=_body(f, {"main_distinct_id": (s.multi or s.person).distinct_ids[0]}),
    ),
    "properties_timeline_retrieve": lambda f, p, c, s: f(p, s.uuid, client=c),
    "reset_person_distinct_id_create": lambda f, p, c, s: f(
        p, client=c, body=_body(f, {"distinct_id": s.other.distinct_ids[-1]})
    ),
    "values_retrieve": lambda f, p, c, s: f(p, client=c, key="plan"),
    "batch_by_distinct_ids_create": lambda f, p, c, s: f(
        p, client=c, body=_body(f, {"distinct_ids": [s.distinct_id, "no-such-id"]})
    ),
    "batch_by_uuids_create": lambda f, p, c, s: f(p, client=c, body=_body(f, {"uuids": [s.uuid]})),
    "deletion_status_retrieve": lambda f, p, c, s: f(p, client=c, status="all", limit=10),
    "properties_at_time_retrieve": lambda f, p, c, s: f(
        p, client=c, timestamp="2030-01-01T00:00:00Z", distinct_id=s.distinct_id
    ),
    "funnel_retrieve": lambda f, p, c, s: f(p, client=c),
    "funnel_create": lambda f, p, c, s: f(
        p, client=c, body=_body(f, {"events": [{"id": "$pageview"}]})
    ),
    "funnel_correlation_retrieve": lambda f, p, c, s: f(p, client=c),
    "funnel_correlation_create": lambda f, p, c, s: f(
        p, client=c, body=_body(f, {"events": [{"id": "$pageview"}]})
    ),
    "lifecycle_retrieve": lambda f, p, c, s: f(p, client=c),
    "stickiness_retrieve": lambda f, p, c, s: f(p, client=c),
    "trends_retrieve": lambda f, p, c, s: f(p, client=c),
}


def _suffix(operation_id: str) -> tuple[str, str]:
    scope = "environments_" if operation_id.startswith("environments_") else ""
    return scope, operation_id.removeprefix(scope).removeprefix("persons_")


def test_every_generated_operation_has_a_contract_call() -> None:
    assert len(MODULES) == 56
    assert {_suffix(name)[1] for name in MODULES} == set(CALLS)


@pytest.mark.vcr
@pytest.mark.parametrize("operation_id", sorted(MODULES))
def test_generated_operation(operation_id: str, target: Target) -> None:
    scope, suffix = _suffix(operation_id)
    client = Client(base_url=target.host)
    client.set_httpx_client(target.httpx_client())
    with client:
        sample = Sample(client, target.project_id, scope)
        response = CALLS[suffix](
            MODULES[operation_id].sync_detailed, target.project_id, client, sample
        )
    assert response.status_code in _success_statuses(operation_id), response.content[:300]
    assert not isinstance(response.parsed, ErrorBody)
