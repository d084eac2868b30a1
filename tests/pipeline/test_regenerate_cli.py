"""The regeneration command line: --check, bad input, refusal, the change report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from persons_codegen import PipelineError, PipelineRefusal, facade, filtering, generate, report
from pipeline_support import (
    ROOT,
    SNAPSHOT_2023,
    SNAPSHOT_2025,
    SNAPSHOT_2026,
    run_pipeline,
    tree_snapshot,
)


def test_check_passes_on_the_committed_tree(repo_copy: Path) -> None:
    done = run_pipeline("--source", str(SNAPSHOT_2026), "--check", root=repo_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match" in done.stdout


def test_check_fails_after_a_hand_edit_of_a_generated_file(repo_copy: Path) -> None:
    edited = repo_copy / "generated/posthog_persons_api/api/persons/persons_list.py"
    edited.write_text(edited.read_text() + "\n# a hand edit\n")
    done = run_pipeline("--source", str(SNAPSHOT_2026), "--check", root=repo_copy)
    assert done.returncode == 1
    assert "api/persons/persons_list.py: differs" in done.stdout
    assert "# a hand edit" in done.stdout


def test_check_fails_when_the_overlay_changed_but_was_not_regenerated(repo_copy: Path) -> None:
    overlay = repo_copy / "openapi/overlay.yaml"
    overlay.write_text(overlay.read_text().replace('Always "person" here.', "Always a person."))
    done = run_pipeline("--source", str(SNAPSHOT_2026), "--check", root=repo_copy)
    assert done.returncode == 1
    assert "openapi/posthog-persons.json: differs" in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "schema file not found"),
        ("just: [some, yaml]\n", "is not an OpenAPI document"),
        ("{not json", "neither JSON nor YAML"),
        ('{"openapi": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
        (
            '{"openapi": "3.0.3", "info": {}, '
            '"paths": {"/api/projects/{project_id}/cohorts/": {}}}',
            "has no persons paths",
        ),
    ],
    ids=["missing-file", "non-schema", "not-json-or-yaml", "swagger-2", "no-persons-paths"],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    repo_copy: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    schema = tmp_path / "input" / "schema.json"
    if content is not None:
        schema.parent.mkdir()
        schema.write_text(content)
    before = tree_snapshot(repo_copy)
    done = run_pipeline("--source", str(schema), root=repo_copy)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert tree_snapshot(repo_copy) == before


def test_network_failure_is_one_line_and_changes_nothing(repo_copy: Path) -> None:
    before = tree_snapshot(repo_copy)
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    done = run_pipeline("--source", "http://127.0.0.1:9/api/schema/?format=json", root=repo_copy)
    assert done.returncode == 2
    assert done.stderr.startswith("regenerate: error: cannot fetch the schema")
    assert len(done.stderr.strip().splitlines()) == 1
    assert tree_snapshot(repo_copy) == before


def test_stale_overlay_action_fails_the_run_and_changes_nothing(repo_copy: Path) -> None:
    # A schema that already contains every correction: each action is now stale or redundant.
    fixed = repo_copy / "openapi" / "posthog-persons.json"
    before = tree_snapshot(repo_copy)
    done = run_pipeline("--source", str(fixed), root=repo_copy)
    assert done.returncode == 2
    assert "stale or redundant actions" in done.stderr
    assert "stale: its target matches nothing" in done.stderr
    assert "redundant: upstream already defines" in done.stderr
    assert tree_snapshot(repo_copy) == before


def test_regeneration_writes_the_tree_and_reports_changes(repo_copy: Path) -> None:
    # Start from a tree whose schema lacks an operation: regenerating restores it and the
    # report names it.
    schema_file = repo_copy / "openapi" / "posthog-persons.json"
    schema = json.loads(schema_file.read_text())
    del schema["paths"]["/api/projects/{project_id}/persons/deletion_status/"]
    schema_file.write_text(json.dumps(schema))
    done = run_pipeline("--source", str(SNAPSHOT_2026), root=repo_copy)
    assert done.returncode == 0, done.stderr
    assert "persons_deletion_status_list" in done.stdout
    assert "### Operations added (1)" in done.stdout
    check = run_pipeline("--source", str(SNAPSHOT_2026), "--check", root=repo_copy)
    assert check.returncode == 0, check.stdout


def _generate_raw(schema: dict[str, Any], tmp_path: Path) -> PipelineRefusal:
    schema_file = tmp_path / "raw.json"
    schema_file.write_text(json.dumps(schema))
    with pytest.raises(PipelineRefusal) as caught:
        generate.generate_package(
            schema_file,
            ROOT / "openapi/generator-config.yaml",
            ROOT / "openapi/templates",
            tmp_path / "pkg",
        )
    assert not (tmp_path / "pkg").exists()
    return caught.value


def test_operations_without_typed_functions_are_refused(
    upstream_2026: dict[str, Any], tmp_path: Path
) -> None:
    """Uncorrected, the batch lookups declare no answer: the generator gives them no sync()."""
    raw = filtering.prune_components(filtering.client_operations(upstream_2026))
    refusal = _generate_raw(raw, tmp_path)
    assert "refusing an incomplete client" in str(refusal)
    assert "persons_batch_by_uuids_create lacks sync, asyncio" in refusal.problems
    assert "persons_batch_by_distinct_ids_create lacks sync, asyncio" in refusal.problems


def test_generator_warnings_are_refused(corrected_2026: dict[str, Any], tmp_path: Path) -> None:
    """A body the generator cannot handle is skipped with a warning (exit code 0): refused."""
    schema = json.loads(json.dumps(corrected_2026))
    split = schema["paths"]["/api/projects/{project_id}/persons/{id}/split/"]["post"]
    split["requestBody"]["content"] = {"application/x-unknown": {"schema": {"type": "string"}}}
    refusal = _generate_raw(schema, tmp_path)
    assert refusal.problems[0].startswith("the generator reported skipped endpoints or schemas")


def test_a_vanished_facade_dependency_fails_and_changes_nothing(repo_copy: Path) -> None:
    pins = repo_copy / "src" / "posthog_persons" / "_operations.py"
    pins.write_text(
        pins.read_text()
        .replace('"persons_list":', '"persons_list_renamed":')
        .replace('("build_request",),\n}', '("build_request", "paginate"),\n}')
    )
    before = tree_snapshot(repo_copy)
    done = run_pipeline("--source", str(SNAPSHOT_2026), root=repo_copy)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "lacks what the facade uses" in done.stderr
    assert "the facade uses operation persons_list_renamed, which is not generated" in done.stderr
    assert "the facade calls persons_deletion_status_list.paginate, not generated" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree_snapshot(repo_copy) == before


def test_the_facade_pins_are_read_without_importing(tmp_path: Path) -> None:
    pins = facade.load_pins(ROOT / "src" / "posthog_persons" / "_operations.py")
    assert pins["persons_list"] == ("build_request",)
    assert "body_from_dict" in pins["persons_bulk_delete_create"]
    assert facade.missing_pins(ROOT / "generated" / "posthog_persons_api", pins) == []
    computed = tmp_path / "computed.py"
    computed.write_text("FACADE_OPERATIONS = {name: () for name in ['persons_list']}\n")
    with pytest.raises(PipelineError, match="must be a literal dict"):
        facade.load_pins(computed)
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(PipelineError, match="defines no FACADE_OPERATIONS"):
        facade.load_pins(empty)
    with pytest.raises(PipelineError, match="pins file is missing"):
        facade.load_pins(tmp_path / "absent.py")


def _report(old: Path, new: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return run_pipeline("--report", str(old), str(new), "--report-out", str(out), root=ROOT)


def test_change_report_2023_to_2025_is_true(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    done = _report(SNAPSHOT_2023, SNAPSHOT_2025, out)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert (
        "(OpenAPI 3.0.3, 24 persons operations) -> `posthog-schema-2025-11.yaml` "
        "(OpenAPI 3.0.3, 48 persons operations)" in text
    )
    # The environments scope appeared (24 operations) with 4 new project-scope operations.
    assert "### Operations added (28)" in text
    assert text.count("| `/api/environments/{project_id}/persons/") == 24
    for new in (
        "persons_bulk_delete_create",
        "persons_delete_events_create",
        "persons_delete_recordings_create",
        "persons_reset_person_distinct_id_create",
    ):
        assert f"`{new}`" in text
    # path, properties and retention were removed upstream.
    assert "### Operations removed (4)" in text
    for gone in (
        "persons_path_retrieve",
        "persons_path_create",
        "persons_properties_retrieve",
        "persons_retention_retrieve",
    ):
        assert f"`{gone}`" in text
    assert "- scopes: `none` -> `person:read`" in text
    assert "`PaginatedPersonList`.count added: `integer`" in text
    committed = ROOT / "openapi/CHANGES-2023-02-to-2025-11.md"
    assert committed.read_text() == text


def test_change_report_2025_to_2026_resolves_refs_and_reads_3_1(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    done = _report(SNAPSHOT_2025, SNAPSHOT_2026, out)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "None" not in text  # every $ref parameter resolved to its name and place
    # project_id is a $ref parameter in 2026 and inline in 2025: the same parameter, no change.
    assert "`project_id`" not in text
    assert "### Operations added (6)" in text and "### Operations removed (34)" in text
    assert (
        "| GET | `/api/projects/{project_id}/persons/deletion_status/` "
        "| `persons_deletion_status_list` | yes |" in text
    )
    assert (
        "| GET | `/api/projects/{project_id}/persons/funnel/` | `persons_funnel_retrieve` | no |"
        in text
    )
    # 3.1 type lists read like 3.0's nullable: `string?`, and a real change stays visible.
    assert "['" not in text  # no raw 3.1 type list such as ['string', 'null']
    assert "- `PersonSplitRequest` added" in text
    assert "- parameter `id` (path): `integer required` -> `string required`" in text
    assert "- operationId: `persons_activity_retrieve_2` -> `persons_activity_retrieve`" in text
    committed = ROOT / "openapi/CHANGES-2025-11-to-2026.md"
    assert committed.read_text() == text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "schema file not found"),
        ("{not json", "neither JSON nor YAML"),
        ("openapi: 3.1.0\ninfo: {}\n", "is not an OpenAPI document"),
    ],
    ids=["missing", "unreadable", "not-openapi"],
)
def test_report_of_a_bad_source_is_one_line_and_writes_nothing(
    tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "report.md"
    done = _report(SNAPSHOT_2026, bad, out)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_describe_reads_3_0_and_3_1_alike() -> None:
    assert report.describe({"type": "string", "nullable": True}) == "string?"
    assert report.describe({"type": ["string", "null"], "format": "date-time"}) == (
        "string(date-time)?"
    )
    assert report.describe({"oneOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]}) == (
        "A?"
    )
    assert report.describe({"allOf": [{"$ref": "#/components/schemas/A"}]}) == "A"
    assert report.describe({"type": "string", "enum": ["b", "a"]}) == "string enum[a|b]"
    assert report.describe({"type": ["array", "null"], "items": {"type": "string"}}) == (
        "array<string>?"
    )
