"""Filtering the upstream schema to the client's operations and correcting it with the overlay."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from persons_codegen import PipelineError, PipelineRefusal, filtering, overlay
from pipeline_support import OVERLAY, ROOT

# The 20 persons operations of the 2026 schema (projects scope only), by upstream id.
OPERATIONS_2026 = sorted(
    [
        "persons_list",
        "persons_retrieve",
        "persons_update",
        "persons_partial_update",
        "persons_activity_retrieve",
        "persons_all_activity_retrieve",
        "persons_batch_by_distinct_ids_create",
        "persons_batch_by_uuids_create",
        "persons_bulk_delete_create",
        "persons_cohorts_retrieve",
        "persons_delete_property_create",
        "persons_deletion_status_list",
        "persons_emails_list",
        "persons_properties_at_time_retrieve",
        "persons_properties_timeline_retrieve",
        "persons_push_notifications_list",
        "persons_reset_person_distinct_id_create",
        "persons_split_create",
        "persons_update_property_create",
        "persons_values_retrieve",
    ]
)
BASE = "/api/projects/{project_id}/persons/"
REF = "#/components/schemas/"


def operation_ids(schema: dict[str, Any]) -> list[str]:
    return sorted(op["operationId"] for _, _, op in filtering.operations(schema))


def all_refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.add(item["$ref"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def overlay_of(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "actions": list(actions)}


def write_overlay(tmp_path: Path, *actions: dict[str, Any]) -> Path:
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay_of(*actions)))
    return path


# --- Filtering -------------------------------------------------------------------------------


def test_the_2026_schema_gives_exactly_its_20_operations(
    upstream_2026: dict[str, Any], corrected_2026: dict[str, Any]
) -> None:
    persons = filtering.client_operations(filtering.filter_paths(upstream_2026))
    assert operation_ids(persons) == OPERATIONS_2026
    assert operation_ids(corrected_2026) == OPERATIONS_2026
    assert all(path.startswith(BASE) for path in corrected_2026["paths"])


def test_the_client_leaves_out_environments_legacy_actors_and_hidden_deletions(
    upstream_2025: dict[str, Any],
) -> None:
    """The 2025-11 schema still has all of them: the selection drops each by rule."""
    persons = filtering.filter_paths(upstream_2025)
    assert any("/api/environments/" in path for path in persons["paths"])
    kept = operation_ids(filtering.client_operations(persons))
    for gone in (
        "persons_funnel_retrieve",
        "persons_funnel_create",
        "persons_funnel_correlation_retrieve",
        "persons_funnel_correlation_create",
        "persons_trends_retrieve",
        "persons_lifecycle_retrieve",
        "persons_stickiness_retrieve",
        "persons_destroy",
        "persons_delete_events_create",
        "persons_delete_recordings_create",
    ):
        assert gone not in kept
    assert not any(op.startswith("environments_") for op in kept)
    # What stays are the ordinary persons operations of the projects scope, the {id}/ path
    # keeping its GET, PUT and PATCH.
    assert {"persons_retrieve", "persons_update", "persons_partial_update"} <= set(kept)
    assert len(kept) == 14


def test_a_schema_without_projects_persons_operations_is_refused() -> None:
    only_environments = {
        "openapi": "3.1.0",
        "paths": {"/api/environments/{environment_id}/persons/": {"get": {"operationId": "x"}}},
    }
    with pytest.raises(PipelineError, match="no persons operations of the projects scope"):
        filtering.client_operations(filtering.filter_paths(only_environments))


def test_every_ref_resolves_and_no_schema_is_unused(corrected_2026: dict[str, Any]) -> None:
    components = corrected_2026["components"]
    refs = all_refs(corrected_2026)
    for ref in refs:
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in components[section], ref
    referenced = {ref.rsplit("/", 1)[1] for ref in refs}
    assert set(components["schemas"]) == referenced - set(components.get("parameters", {}))
    assert "PersonalAPIKeyAuth" in components["securitySchemes"]
    # Upstream's array-of-Property query parameter is corrected away, and its schemas with it.
    assert "Property" not in components["schemas"]


# --- The corrections -------------------------------------------------------------------------


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def test_list_results_are_actors_and_retrieve_keeps_the_person_record(
    corrected_2026: dict[str, Any],
) -> None:
    paths, schemas = corrected_2026["paths"], corrected_2026["components"]["schemas"]
    listing = paths[BASE]["get"]
    properties = next(p for p in listing["parameters"] if p.get("name") == "properties")
    assert properties["schema"] == {"type": "string"}
    page = _json_schema(listing["responses"]["200"])["$ref"].removeprefix(REF)
    item = schemas[page]["properties"]["results"]["items"]["$ref"].removeprefix(REF)
    actor = schemas[item]
    assert actor["properties"]["id"]["type"] == "string"
    assert actor["properties"]["id"]["format"] == "uuid"
    for name in ("type", "is_identified", "matched_recordings", "value_at_data_point"):
        assert name in actor["properties"]
    assert actor["additionalProperties"] is True
    retrieve = paths[BASE + "{id}/"]["get"]["responses"]["200"]
    assert _json_schema(retrieve) == {"$ref": REF + "PersonRecord"}
    assert schemas["PersonRecord"]["properties"]["id"]["type"] == "integer"


def test_batch_lookups_send_their_lists_and_answer_results_by_key(
    corrected_2026: dict[str, Any],
) -> None:
    paths, schemas = corrected_2026["paths"], corrected_2026["components"]["schemas"]
    for action, field in (("batch_by_distinct_ids/", "distinct_ids"), ("batch_by_uuids/", "uuids")):
        post = paths[BASE + action]["post"]
        body = _json_schema(post["requestBody"])["$ref"].removeprefix(REF)
        assert list(schemas[body]["properties"]) == [field]
        answer = _json_schema(post["responses"]["200"])["$ref"].removeprefix(REF)
        results = schemas[answer]["properties"]["results"]
        assert results["type"] == "object"
        assert results["additionalProperties"] == {"$ref": REF + "PersonRecord"}


def test_statuses_and_bodies_follow_the_server(corrected_2026: dict[str, Any]) -> None:
    paths, schemas = corrected_2026["paths"], corrected_2026["components"]["schemas"]
    person = paths[BASE + "{id}/"]
    for method in ("put", "patch"):
        assert "200" not in person[method]["responses"]
        assert "content" not in person[method]["responses"]["202"]
    delete_property = paths[BASE + "{id}/delete_property/"]["post"]["responses"]
    assert "200" not in delete_property
    assert _json_schema(delete_property["201"]) == {"$ref": REF + "SuccessResponse"}
    for action in ("{id}/update_property/", "reset_person_distinct_id/"):
        responses = paths[BASE + action]["post"]["responses"]
        assert "200" not in responses and "202" in responses
    at_time = paths[BASE + "properties_at_time/"]["get"]["responses"]
    for status in ("400", "404"):
        error = _json_schema(at_time[status])["$ref"].removeprefix(REF)
        assert schemas[error]["required"] == ["error"]
    summary = schemas["PersonBulkDeleteResponse"]["properties"]
    assert summary["persons_queued_for_deletion"]["type"] == "integer"
    for action in ("values/", "cohorts/", "activity/", "{id}/activity/"):
        assert "content" in paths[BASE + action]["get"]["responses"]["200"]


def test_where_the_schema_and_the_server_disagree_the_server_wins(
    corrected_2026: dict[str, Any],
) -> None:
    paths, schemas = corrected_2026["paths"], corrected_2026["components"]["schemas"]
    # properties_at_time sends property values as they are (numbers, booleans...).
    at_time = schemas["PersonPropertiesAtTimeResponse"]["properties"]["properties"]
    assert at_time["additionalProperties"] is True
    # A numeric id or a UUID wherever the person is in the path (safely_get_object).
    for path, item in paths.items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] == "id":
                    assert parameter["schema"] == {"type": "string"}, (method, path)
    # PUT and PATCH both need a body with non-null properties (PersonViewSet.update).
    for method in ("put", "patch"):
        body = paths[BASE + "{id}/"][method]["requestBody"]
        assert body["required"] is True
        assert _json_schema(body) == {"$ref": REF + "PersonPropertiesUpdate"}
    update = schemas["PersonPropertiesUpdate"]
    assert update["required"] == ["properties"] and update["properties"]["properties"] == {
        "type": "object",
        "additionalProperties": True,
    }
    assert "PatchedPersonRecord" not in schemas
    # deletion_status reads limit/offset leniently (DRF falls back to the default on junk).
    parameters = paths[BASE + "deletion_status/"]["get"]["parameters"]
    lenient = {p["name"]: p for p in parameters if p.get("name") in ("limit", "offset")}
    assert set(lenient) == {"limit", "offset"}
    for parameter in lenient.values():
        assert parameter["schema"] == {"type": "string"} and parameter["allowEmptyValue"]
        assert "default" in parameter["description"]


def test_every_operation_declares_429_with_retry_after(corrected_2026: dict[str, Any]) -> None:
    for _, _, operation in filtering.operations(corrected_2026):
        throttled = operation["responses"]["429"]
        assert throttled["headers"]["Retry-After"]["schema"] == {"type": "integer"}
        assert {"401", "403", "400", "404"} <= set(operation["responses"])


# --- Stale and redundant actions -------------------------------------------------------------


def test_overlay_applies_cleanly_to_2026(upstream_2026: dict[str, Any]) -> None:
    persons = filtering.prune_components(
        filtering.client_operations(filtering.filter_paths(upstream_2026))
    )
    _, outcomes = overlay.apply_overlay(persons, overlay.load_overlay(OVERLAY))
    assert overlay.refusal_lines(outcomes) == []


def test_every_action_is_refused_on_a_schema_that_has_the_fixes(
    corrected_2026: dict[str, Any],
) -> None:
    _, outcomes = overlay.apply_overlay(corrected_2026, overlay.load_overlay(OVERLAY))
    assert outcomes and all(o.refused for o in outcomes)
    assert len(overlay.refusal_lines(outcomes)) == len(outcomes)


def test_one_upstream_fix_refuses_exactly_the_action_that_made_it(
    upstream_2026: dict[str, Any],
) -> None:
    """Upstream starts declaring the batch lookups' answers: their correction is stale."""
    fixed = filtering.prune_components(
        filtering.client_operations(filtering.filter_paths(upstream_2026))
    )
    for action in ("batch_by_distinct_ids/", "batch_by_uuids/"):
        fixed["paths"][BASE + action]["post"]["responses"]["200"] = {
            "description": "",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    _, outcomes = overlay.apply_overlay(fixed, overlay.load_overlay(OVERLAY))
    refused = [o for o in outcomes if o.refused]
    assert len(refused) == 1
    assert "batch_by_uuids" in refused[0].target and ".responses[?" in refused[0].target
    assert refused[0].why.startswith("stale: its target matches nothing")


def test_an_action_adding_an_operation_upstream_now_has_is_redundant(
    upstream_2026: dict[str, Any], tmp_path: Path
) -> None:
    """The 2025-11 overlay added batch_by_uuids; against 2026 that must fail, not override."""
    add_operation = {
        "target": "$.paths",
        "description": "batch_by_uuids exists on the server but not in the schema.",
        "update": {
            BASE + "batch_by_uuids/": {
                "post": {"operationId": "persons_batch_by_uuids_create", "responses": {}}
            }
        },
    }
    _, outcomes = overlay.apply_overlay(
        upstream_2026, overlay.load_overlay(write_overlay(tmp_path, add_operation))
    )
    (outcome,) = outcomes
    assert outcome.refused and not outcome.stale
    assert outcome.why.startswith("redundant: ")
    assert "['post']['operationId'] as this action does" in outcome.why


def _tiny() -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"A": {"type": "object"}}}}


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (
            {"target": "$.components.schemas", "update": {"A": {"type": "object"}}},
            "redundant: upstream already defines $['components']['schemas']['A']['type'] as this",
        ),
        (
            {"target": "$.components.schemas", "update": {"A": {"type": "string"}}},
            "this action would override it",
        ),
        (
            {
                "target": "$.components.schemas[?@.type=='object']",
                "x-replaces": True,
                "update": {"type": "object"},
            },
            "redundant: upstream already defines",
        ),
        (
            {
                "target": "$.components.schemas[?@.type=='array']",
                "x-replaces": True,
                "update": {"type": "string"},
            },
            "stale: its target matches nothing",
        ),
        ({"target": "$.components.schemas.B", "remove": True}, "stale: its target matches"),
    ],
    ids=["add-equal", "add-different", "replace-equal", "replace-pinned-gone", "remove-gone"],
)
def test_refusals_name_why(tmp_path: Path, action: dict[str, Any], why: str) -> None:
    action["description"] = "a test action"
    _, outcomes = overlay.apply_overlay(
        _tiny(), overlay.load_overlay(write_overlay(tmp_path, action))
    )
    (outcome,) = outcomes
    assert outcome.refused
    assert why in outcome.why


def test_add_and_pinned_replace_apply(tmp_path: Path) -> None:
    actions = [
        {"target": "$.components.schemas", "description": "add", "update": {"B": {"type": "x"}}},
        {
            "target": "$.components.schemas[?@.type=='object']",
            "description": "replace",
            "x-replaces": True,
            "update": {"type": "string", "format": "uuid"},
        },
    ]
    result, outcomes = overlay.apply_overlay(
        _tiny(), overlay.load_overlay(write_overlay(tmp_path, *actions))
    )
    assert not any(o.refused for o in outcomes)
    assert result["components"]["schemas"] == {
        "A": {"type": "string", "format": "uuid"},
        "B": {"type": "x"},
    }


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"target": "$.a", "description": "d", "x-replaces": True, "update": {"b": 1}},
            "must pin the upstream value it replaces with a filter",
        ),
        ({"target": "$.a", "update": {"b": 1}}, "has no description"),
        ({"target": "$.a", "description": "d"}, "needs exactly one of update / remove"),
    ],
    ids=["replace-unpinned", "undescribed", "neither"],
)
def test_malformed_actions_are_clear_errors(
    tmp_path: Path, action: dict[str, Any], message: str
) -> None:
    with pytest.raises(PipelineError, match=message):
        overlay.load_overlay(write_overlay(tmp_path, action))


def test_overlay_with_bad_jsonpath_is_a_clear_error(tmp_path: Path) -> None:
    bad = write_overlay(tmp_path, {"target": "$.paths[?", "description": "d", "remove": True})
    with pytest.raises(PipelineError, match="bad JSONPath"):
        overlay.apply_overlay({"paths": {}}, overlay.load_overlay(bad))


def test_build_schema_refuses_with_the_list(upstream_2026: dict[str, Any], tmp_path: Path) -> None:
    import regenerate

    actions = yaml.safe_load(OVERLAY.read_text())["actions"]
    actions.append({"target": "$.paths['/nowhere/']", "description": "gone", "remove": True})
    with pytest.raises(PipelineRefusal) as caught:
        regenerate.build_schema(upstream_2026, write_overlay(tmp_path, *actions))
    assert caught.value.problems == [
        f"action {len(actions)} (gone): stale: its target matches nothing (upstream changed or "
        "fixed it)\n    target: $.paths['/nowhere/']"
    ]


# --- Output ----------------------------------------------------------------------------------


def test_written_schema_is_byte_stable_and_committed(upstream_2026: dict[str, Any]) -> None:
    import regenerate

    first = regenerate.serialise(regenerate.build_schema(upstream_2026, OVERLAY))
    second = regenerate.serialise(regenerate.build_schema(copy.deepcopy(upstream_2026), OVERLAY))
    assert first == second
    committed = (ROOT / "openapi" / "posthog-persons.json").read_text(encoding="utf-8")
    assert first == committed
    assert json.loads(committed)["openapi"] == "3.1.0"


def test_the_committed_snapshot_regenerates_the_same_schema(
    corrected_2026: dict[str, Any],
) -> None:
    import regenerate
    from persons_codegen import source

    snapshot = source.load_file(ROOT / "openapi" / "upstream-persons.json")
    assert regenerate.build_schema(snapshot, OVERLAY) == corrected_2026
