"""Filtering the upstream schema to the persons API and correcting it with the overlay."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from persons_codegen import PipelineError, filtering, overlay

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "openapi" / "overlay.yaml"

# The 2025-11 snapshot has 24 persons operations per scope (48; its README counts 49 with the
# cohort members path, which is not a persons path).
UPSTREAM_PROJECT_OPS = [
    "persons_list",
    "persons_retrieve",
    "persons_update",
    "persons_partial_update",
    "persons_destroy",
    "persons_activity_retrieve",
    "persons_activity_retrieve_2",
    "persons_bulk_delete_create",
    "persons_cohorts_retrieve",
    "persons_delete_events_create",
    "persons_delete_property_create",
    "persons_delete_recordings_create",
    "persons_funnel_retrieve",
    "persons_funnel_create",
    "persons_funnel_correlation_retrieve",
    "persons_funnel_correlation_create",
    "persons_lifecycle_retrieve",
    "persons_properties_timeline_retrieve",
    "persons_reset_person_distinct_id_create",
    "persons_split_create",
    "persons_stickiness_retrieve",
    "persons_trends_retrieve",
    "persons_update_property_create",
    "persons_values_retrieve",
]
ADDED_PROJECT_OPS = [
    "persons_batch_by_distinct_ids_create",
    "persons_batch_by_uuids_create",
    "persons_deletion_status_retrieve",
    "persons_properties_at_time_retrieve",
]
EXPECTED = sorted(
    [*UPSTREAM_PROJECT_OPS, *ADDED_PROJECT_OPS]
    + [f"environments_{op}" for op in [*UPSTREAM_PROJECT_OPS, *ADDED_PROJECT_OPS]]
)


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


def test_filter_keeps_exactly_the_persons_operations(upstream_2025: dict[str, Any]) -> None:
    persons = filtering.filter_paths(upstream_2025)
    assert operation_ids(persons) == sorted(
        UPSTREAM_PROJECT_OPS + [f"environments_{op}" for op in UPSTREAM_PROJECT_OPS]
    )
    assert "/api/projects/{project_id}/cohorts/{id}/persons/" not in persons["paths"]


def test_corrected_schema_has_upstream_plus_added_operations_and_nothing_else(
    corrected_2025: dict[str, Any],
) -> None:
    assert len(EXPECTED) == 56
    assert operation_ids(corrected_2025) == EXPECTED
    assert all(filtering.is_persons_path(path) for path in corrected_2025["paths"])


def test_every_ref_resolves_and_no_schema_is_unused(corrected_2025: dict[str, Any]) -> None:
    components = corrected_2025["components"]
    refs = all_refs(corrected_2025)
    for ref in refs:
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in components[section], ref
    referenced = {ref.rsplit("/", 1)[1] for ref in refs}
    assert set(components["schemas"]) == referenced
    assert "PersonalAPIKeyAuth" in components["securitySchemes"]


def test_overlay_corrects_what_the_server_really_does(corrected_2025: dict[str, Any]) -> None:
    paths = corrected_2025["paths"]
    for scope in ("projects", "environments"):
        base = f"/api/{scope}/{{project_id}}/persons/"
        listing = {p["name"]: p for p in paths[base]["get"]["parameters"]}
        assert listing["properties"]["schema"] == {"type": "string"}
        bulk = paths[base + "bulk_delete/"]["post"]
        assert {p["name"] for p in bulk["parameters"]} == {"project_id", "format"}
        assert bulk["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/PersonBulkDeleteRequest"
        )
        assert "200" not in bulk["responses"]
        assert bulk["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/PersonBulkDeleteSummary"
        )
        for added in ("batch_by_distinct_ids/", "batch_by_uuids/"):
            assert "post" in paths[base + added]
        for added in ("deletion_status/", "properties_at_time/"):
            assert "get" in paths[base + added]


def test_overlay_applies_cleanly_to_2025_11(upstream_2025: dict[str, Any]) -> None:
    import regenerate

    _, outcomes = overlay.apply_overlay(
        regenerate.upstream_persons(upstream_2025), overlay.load_overlay(OVERLAY)
    )
    assert [o for o in outcomes if o.stale] == []


def test_every_action_is_reported_stale_on_a_schema_that_has_the_fixes(
    corrected_2025: dict[str, Any],
) -> None:
    _, outcomes = overlay.apply_overlay(corrected_2025, overlay.load_overlay(OVERLAY))
    assert outcomes and all(o.stale for o in outcomes)


def test_one_upstream_fix_makes_exactly_that_action_stale(upstream_2025: dict[str, Any]) -> None:
    fixed = filtering.prune_components(filtering.filter_paths(upstream_2025))
    for scope in ("projects", "environments"):
        responses = fixed["paths"][f"/api/{scope}/{{project_id}}/persons/{{id}}/"]["delete"][
            "responses"
        ]
        responses["202"] = responses.pop("204")
        responses["202"]["description"] = "Accepted; the change is applied asynchronously."
    _, outcomes = overlay.apply_overlay(fixed, overlay.load_overlay(OVERLAY))
    stale = [o for o in outcomes if o.stale]
    assert [o.why_stale for o in stale] == [
        "its target matches nothing",
        "it changes nothing (upstream already says this)",
    ]
    assert all("/persons/{id}/'].delete.responses" in o.target for o in stale)
    assert "action" in overlay.stale_report(outcomes)


def test_written_schema_is_byte_stable(upstream_2025: dict[str, Any]) -> None:
    import regenerate

    first = regenerate.serialise(regenerate.build_schema(upstream_2025, OVERLAY))
    second = regenerate.serialise(regenerate.build_schema(copy.deepcopy(upstream_2025), OVERLAY))
    assert first == second
    committed = (ROOT / "openapi" / "posthog-persons.json").read_text(encoding="utf-8")
    assert first == committed
    assert json.loads(committed)["openapi"].startswith("3.")


def test_overlay_with_bad_jsonpath_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "overlay.yaml"
    bad.write_text("overlay: 1.0.0\nactions:\n  - target: $.paths[?\n    remove: true\n")
    with pytest.raises(PipelineError, match="bad JSONPath"):
        overlay.apply_overlay({"paths": {}}, overlay.load_overlay(bad))


def test_corrections_never_merge_into_unrelated_upstream_schemas(
    upstream_2025: dict[str, Any], corrected_2025: dict[str, Any]
) -> None:
    """Upstream has its own ErrorResponse and MinimalPerson; ours must not inherit from them."""
    assert "MinimalPerson" in upstream_2025["components"]["schemas"]
    minimal = corrected_2025["components"]["schemas"]["MinimalPerson"]
    assert "example" not in minimal
    assert "ErrorResponse" not in corrected_2025["components"]["schemas"]


def test_the_committed_snapshot_regenerates_the_same_schema(
    corrected_2025: dict[str, Any],
) -> None:
    import regenerate
    from persons_codegen import source

    snapshot = source.load_file(ROOT / "openapi" / "upstream-persons.json")
    assert regenerate.build_schema(snapshot, OVERLAY) == corrected_2025
