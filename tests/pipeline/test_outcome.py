"""Every upstream change reaches a person: each outcome of a run, and what is published for it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from persons_codegen.outcome import REFUSAL_LABEL, Outcome, issue_body, publish
from pipeline_support import ROOT, SNAPSHOT_2026, run_pipeline, tree_snapshot


@pytest.fixture
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a run writes its outcome and report: outside the tree (repo_copy is tmp_path)."""
    return tmp_path_factory.mktemp("outcome")


def run_with_outcome(
    source: Path, root: Path, out_dir: Path
) -> tuple[subprocess.CompletedProcess[str], Outcome, Path]:
    """Run as the workflow does: (the process, the outcome it wrote, the report file)."""
    out, report = out_dir / "outcome.json", out_dir / "report.md"
    done = run_pipeline(
        "--source", str(source), "--outcome", str(out), "--report-out", str(report), root=root
    )
    return done, Outcome.read(out), report


def test_unchanged_run_says_so_and_writes_nothing(repo_copy: Path, out_dir: Path) -> None:
    before = tree_snapshot(repo_copy)
    out = out_dir / "outcome.json"
    done = run_pipeline("--source", str(SNAPSHOT_2026), "--outcome", str(out), root=repo_copy)
    assert done.returncode == 0, done.stderr
    assert "unchanged" in done.stdout
    outcome = Outcome.read(out)
    assert outcome.status == "unchanged"
    assert outcome.refusals == [] and outcome.report == ""
    assert tree_snapshot(repo_copy) == before


def test_changed_run_writes_the_tree_and_the_report(repo_copy: Path, out_dir: Path) -> None:
    schema_file = repo_copy / "openapi" / "posthog-persons.json"
    schema = json.loads(schema_file.read_text())
    del schema["paths"]["/api/projects/{project_id}/persons/values/"]
    schema_file.write_text(json.dumps(schema))
    done, outcome, report = run_with_outcome(SNAPSHOT_2026, repo_copy, out_dir)
    assert done.returncode == 0, done.stderr
    assert outcome.status == "changed"
    assert "`persons_values_retrieve`" in outcome.report
    assert report.read_text() == outcome.report


def test_refused_run_writes_the_report_and_the_refusals_but_not_the_tree(
    repo_copy: Path, out_dir: Path
) -> None:
    # Upstream "fixes" the batch lookups' answers: the action that declared them is stale.
    upstream = json.loads(SNAPSHOT_2026.read_text())
    for action in ("batch_by_distinct_ids", "batch_by_uuids"):
        path = f"/api/projects/{{project_id}}/persons/{action}/"
        upstream["paths"][path]["post"]["responses"]["200"] = {
            "description": "",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    source = out_dir / "upstream.json"
    source.write_text(json.dumps(upstream))
    before = tree_snapshot(repo_copy)
    done, outcome, report = run_with_outcome(source, repo_copy, out_dir)
    assert done.returncode == 2
    assert tree_snapshot(repo_copy) == before
    assert outcome.status == "refused"
    (refusal,) = outcome.refusals
    assert "stale: its target matches nothing" in refusal and "batch_by_uuids" in refusal
    # The report is upstream's own change: the snapshot's batch answers -> the new ones.
    assert report.read_text() == outcome.report
    assert "response 200: `no body` -> `application/json: object`" in outcome.report
    assert refusal.splitlines()[0] in issue_body(outcome)


def test_a_vanished_facade_dependency_is_a_refusal(repo_copy: Path, out_dir: Path) -> None:
    pins = repo_copy / "src" / "posthog_persons" / "_operations.py"
    pins.write_text(pins.read_text().replace('"persons_list":', '"persons_list_v2":'))
    out = out_dir / "outcome.json"
    done = run_pipeline("--source", str(SNAPSHOT_2026), "--outcome", str(out), root=repo_copy)
    assert done.returncode == 2
    outcome = Outcome.read(out)
    assert outcome.status == "refused"
    assert outcome.refusals == ["the facade uses operation persons_list_v2, which is not generated"]


def test_an_unreadable_source_is_a_failed_outcome(repo_copy: Path, out_dir: Path) -> None:
    out = out_dir / "outcome.json"
    done = run_pipeline(
        "--source", str(out_dir / "nope.json"), "--outcome", str(out), root=repo_copy
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    outcome = Outcome.read(out)
    assert outcome.status == "failed"
    assert outcome.summary.startswith("schema file not found")


def test_a_crash_is_a_failed_outcome_with_the_exception(
    repo_copy: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import regenerate

    def crash(*args: object) -> None:
        raise KeyError("components")

    monkeypatch.setattr(regenerate.generate, "generate_package", crash)
    before, out = tree_snapshot(repo_copy), out_dir / "outcome.json"
    argv = ["--root", str(repo_copy), "--source", str(SNAPSHOT_2026), "--outcome", str(out)]
    assert regenerate.main(argv) == 2
    outcome = Outcome.read(out)
    assert outcome.status == "failed"
    assert outcome.summary == "unexpected error (a bug in the pipeline): KeyError: 'components'"
    assert outcome.source == str(SNAPSHOT_2026)
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("KeyError: 'components'")
    assert tree_snapshot(repo_copy) == before
    # And a person hears of it: the failure opens the refusal issue, naming the exception.
    gh = FakeGh()
    publish(outcome, gh)
    assert gh.verbs()[-1] == "issue create"
    assert "KeyError: 'components'" in (gh.calls[-1][1] or "")


# --- Publishing ------------------------------------------------------------------------------


class FakeGh:
    """Records `gh` calls; answers `issue list` with the open refusal issue, if any."""

    def __init__(self, open_issue: str = "") -> None:
        self.open_issue = open_issue
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, arguments: Sequence[str], stdin: str | None) -> str:
        self.calls.append((list(arguments), stdin))
        if list(arguments[:2]) == ["issue", "list"]:
            assert REFUSAL_LABEL in arguments
            return self.open_issue + "\n"
        if list(arguments[:2]) == ["issue", "create"]:
            return "https://github.com/o/r/issues/12\n"
        return ""

    def verbs(self) -> list[str]:
        return [" ".join(args[:2]) for args, _ in self.calls]


REFUSED = Outcome(
    "refused",
    "overlay.yaml has stale or redundant actions",
    "https://us.posthog.com/api/schema/?format=json",
    refusals=["action 3 (x): stale: its target matches nothing\n    target: $.a"],
    report="## PostHog persons API: schema changes\n",
)


def test_a_refusal_opens_one_issue_with_the_list_and_the_report(tmp_path: Path) -> None:
    gh, summary = FakeGh(), tmp_path / "summary.md"
    done = publish(REFUSED, gh, summary)
    assert gh.verbs() == ["issue list", "label create", "issue create"]
    body = gh.calls[-1][1] or ""
    assert "action 3 (x): stale" in body and "## PostHog persons API: schema changes" in body
    assert done == ["opened issue https://github.com/o/r/issues/12"]
    assert "### Regeneration: refused" in summary.read_text()


def test_a_second_refusal_updates_the_open_issue() -> None:
    gh = FakeGh(open_issue="12")
    assert publish(REFUSED, gh) == ["updated issue #12"]
    assert gh.verbs() == ["issue list", "issue edit", "issue comment"]
    assert gh.calls[1][0][:3] == ["issue", "edit", "12"]


@pytest.mark.parametrize("status", ["unchanged", "changed"])
def test_success_says_so_and_closes_the_refusal_issue(status: str) -> None:
    outcome = Outcome(status, "all good", "schema.json")  # type: ignore[arg-type]
    gh = FakeGh(open_issue="12")
    done = publish(outcome, gh)
    assert gh.verbs() == ["issue list", "issue close"]
    assert done[-1] == "closed issue #12"
    quiet = FakeGh()
    assert len(publish(outcome, quiet)) == 1
    assert quiet.verbs() == ["issue list"]


def test_publish_outcome_refuses_a_file_that_is_not_an_outcome(tmp_path: Path) -> None:
    bad = tmp_path / "outcome.json"
    bad.write_text('{"status": "great"}')
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "publish_outcome.py"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("publish_outcome: error:")
    assert "is not a regeneration outcome" in done.stderr


def test_a_client_change_without_an_api_change_still_gives_the_pull_request_a_body(
    repo_copy: Path, out_dir: Path
) -> None:
    edited = repo_copy / "generated/posthog_persons_api/api/persons/persons_list.py"
    edited.write_text(edited.read_text() + "\n# drifted\n")
    done, outcome, report = run_with_outcome(SNAPSHOT_2026, repo_copy, out_dir)
    assert done.returncode == 0, done.stderr
    assert outcome.status == "changed"
    assert "the API did not" in outcome.summary
    assert report.read_text() == outcome.summary + "\n"
    assert "# drifted" not in edited.read_text()
