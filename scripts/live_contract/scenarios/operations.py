"""Every generated operation, called once through the generated client.

Each call must get one of the operation's documented success statuses and parse into its
documented answer. Operations are found by module (operation id), never by model class name.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import Context, Scenario, expect
from .workflows import UNKNOWN_UUID

PACKAGE = "posthog_persons_api.api.persons"
# posthog/permissions.py, APIScopePermission.has_permission: an action that declares no scope
# refuses every personal API key, whatever its scopes ("This action does not support Personal
# API Key access"); properties_timeline declares none (../shared/posthog-persons-api.md).
REFUSED_TO_PERSONAL_KEYS = frozenset({"persons_properties_timeline_retrieve"})
# A moment after any run seeded its persons: "their properties as of now".
LATER = "2030-01-01T00:00:00Z"


@dataclass(frozen=True)
class Invocation:
    """One call: the `{id}` path argument, query arguments, JSON body."""

    person: str | int | None = None
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _reader_ids(ctx: Context) -> list[str]:
    return [p.distinct_id for p in ctx.plan.role("reader")]


# operation id -> the call made. Edits go to the "editor", deletions to the persons seeded for
# them; everything else reads.
CALLS: dict[str, Callable[[Context], Invocation]] = {
    "persons_list": lambda c: Invocation(
        query={"limit": 5, "properties": json.dumps(c.plan.run_filter())}
    ),
    "persons_retrieve": lambda c: Invocation(c.uuid("reader")),
    "persons_update": lambda c: Invocation(
        c.uuid("editor"), body={"properties": {"contract_plan": "pro"}}
    ),
    "persons_partial_update": lambda c: Invocation(
        c.uuid("editor"), body={"properties": {"contract_test": True}}
    ),
    # The schema types these {id} as an integer: the numeric id, not the UUID.
    "persons_activity_retrieve": lambda c: Invocation(c.numeric_id("editor")),
    "persons_delete_property_create": lambda c: Invocation(
        c.uuid("editor"), body={"$unset": "contract_test"}
    ),
    "persons_emails_list": lambda c: Invocation(c.numeric_id("reader"), query={"limit": 10}),
    "persons_properties_timeline_retrieve": lambda c: Invocation(c.numeric_id("reader")),
    "persons_push_notifications_list": lambda c: Invocation(
        c.numeric_id("reader"), query={"limit": 10}
    ),
    "persons_split_create": lambda c: Invocation(
        c.uuid("splitter"), body={"main_distinct_id": c.plan.role("splitter")[0].distinct_id}
    ),
    "persons_update_property_create": lambda c: Invocation(
        c.uuid("editor"), body={"key": "plan", "value": "enterprise"}
    ),
    "persons_all_activity_retrieve": lambda c: Invocation(),
    "persons_batch_by_distinct_ids_create": lambda c: Invocation(
        body={"distinct_ids": [*_reader_ids(c), "lc-no-such-distinct-id"]}
    ),
    "persons_batch_by_uuids_create": lambda c: Invocation(
        body={"uuids": [c.uuid("reader"), UNKNOWN_UUID]}
    ),
    "persons_bulk_delete_create": lambda c: Invocation(
        body={
            "distinct_ids": [c.plan.role("op_delete")[0].distinct_id, "lc-no-such-distinct-id"],
            "delete_events": True,
        }
    ),
    "persons_cohorts_retrieve": lambda c: Invocation(query={"person_id": c.uuid("reader")}),
    "persons_deletion_status_list": lambda c: Invocation(query={"status": "all", "limit": 10}),
    "persons_properties_at_time_retrieve": lambda c: Invocation(
        query={"timestamp": LATER, "distinct_id": _reader_ids(c)[0]}
    ),
    "persons_reset_person_distinct_id_create": lambda c: Invocation(
        body={"distinct_id": c.plan.role("reset")[0].distinct_id}
    ),
    "persons_values_retrieve": lambda c: Invocation(query={"key": "plan"}),
}


def generated_modules() -> dict[str, ModuleType]:
    package = importlib.import_module(PACKAGE)
    return {
        info.name: importlib.import_module(f"{PACKAGE}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    }


def success_statuses(module: ModuleType) -> set[int]:
    """The 2xx statuses the operation documents, from the schema the package ships."""
    operation_id = module.__name__.rsplit(".", 1)[-1]
    schema = json.loads(
        importlib.resources.files("posthog_persons_api").joinpath("openapi.json").read_text()
    )
    for item in schema["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return {int(code) for code in operation["responses"] if code.startswith("2")}
    raise KeyError(operation_id)


def call_operation(ctx: Context, operation_id: str) -> None:
    module = generated_modules()[operation_id]
    invocation = CALLS[operation_id](ctx)
    args: list[Any] = [ctx.target.project_id]
    if invocation.person is not None:
        args.append(invocation.person)
    kwargs = dict(invocation.query)
    if invocation.body is not None:
        kwargs["body"] = module.body_from_dict(invocation.body)
    with ctx.api() as client:
        response = module.sync_detailed(*args, client=client, **kwargs)
    expected = {403} if operation_id in REFUSED_TO_PERSONAL_KEYS else success_statuses(module)
    expect(
        response.status_code in expected,
        f"{operation_id} answered {response.status_code}, documented {sorted(expected)}: "
        f"{response.content[:200]!r}",
    )
    if response.content and response.status_code < 300:
        expect(response.parsed is not None, f"{operation_id}: the answer did not parse")


def _scenario(operation_id: str) -> Scenario:
    def run(ctx: Context) -> None:
        call_operation(ctx, operation_id)

    return Scenario("test_generated_operations", "test_generated_operation", operation_id, run)


# The split and the bulk delete change their persons: after the reads (dict order).
OPERATIONS = [_scenario(operation_id) for operation_id in CALLS]
