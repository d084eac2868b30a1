"""The live contract check, run here without the network: the emulator plays PostHog.

Configured identically, the two sides must agree; with a deliberately different server, every
difference must be reported, named by operation and field. The guards must refuse before
anything is written anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract_support import (
    CAPTURE,
    HOST,
    PERSONAL_KEY,
    PROJECT,
    PROJECT_TOKEN,
    FakeLive,
    json_rewrite,
    without_header,
)
from live_contract.cli import main
from live_contract.compare import Divergence, Operations, load
from live_contract.guard import ForeignRequestError, GuardTransport, Perimeter
from live_contract.publish import publish
from live_contract.runner import SCENARIOS, Outcome, run_live
from live_contract.seeding import RUN_PROPERTY, SeedPlan
from live_contract.settings import REQUIRED, RefusedError, Settings

PLAN = SeedPlan.build("20260102t030405")


def _found(outcome: Outcome, operation: str, kind: str, field: str) -> Divergence:
    matches = [
        d for d in outcome.divergences if (d.operation, d.kind, d.field) == (operation, kind, field)
    ]
    assert matches, f"no {kind} divergence of {operation} {field}: {outcome.divergences}"
    return matches[0]


@pytest.fixture(scope="module")
def agreeing(tmp_path_factory: pytest.TempPathFactory) -> tuple[FakeLive, Path, Outcome]:
    """One run with the same emulator configuration on both sides (the tests only read it)."""
    fake, out = FakeLive(persons=3), tmp_path_factory.mktemp("agreeing")
    return fake, out, run_live(fake.live(), out, plan=PLAN)


def test_identical_sides_report_no_divergence(agreeing: tuple[FakeLive, Path, Outcome]) -> None:
    _, out, outcome = agreeing
    assert outcome.divergences == []
    # ...having compared something: every scenario, exchange by exchange.
    server, emulator = load(out / "server", Operations()), load(out / "emulator", Operations())
    assert len(server) == len(SCENARIOS)
    assert [len(v) for v in server.values()] == [len(v) for v in emulator.values()]
    assert sum(len(v) for v in server.values()) > 60
    assert outcome.about["failed on the server"] == outcome.about["failed on the emulator"] == 0
    text = outcome.report.read_text(encoding="utf-8")
    assert "answered every recorded call as the server did" in text


def test_the_run_seeds_through_capture_and_cleans_up_only_its_persons(
    agreeing: tuple[FakeLive, Path, Outcome],
) -> None:
    fake, _, _ = agreeing
    assert [e["event"] for e in fake.captured] == ["$identify"] * len(PLAN.persons)
    splitter = next(e for e in fake.captured if e["properties"].get("$anon_distinct_id"))
    assert splitter["properties"]["$set"]["lc_role"] == "splitter"
    left = fake.emulator.persons
    assert all(RUN_PROPERTY not in p["properties"] for p in left)
    assert sorted(d for p in left for d in p["distinct_ids"]) == [
        "someone-else-0",
        "someone-else-1",
        "someone-else-2",
    ]


def test_recordings_hold_no_secret_and_no_live_host_or_project(
    agreeing: tuple[FakeLive, Path, Outcome],
) -> None:
    _, out, _ = agreeing
    recorded = [p for p in out.rglob("*") if p.is_file() and p.stem != "report"]
    assert len(recorded) > 30
    for path in recorded:
        text = path.read_text(encoding="utf-8")
        assert PERSONAL_KEY not in text and PROJECT_TOKEN not in text, path
        assert HOST not in text and f"/projects/{PROJECT}" not in text, path


def _old_list_shape(fake: FakeLive) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        for item in body["results"]:
            item["id"] = fake.emulator.get_person(item["uuid"])["id"]  # type: ignore[index]
        return body

    return change


def _relative_links(body: dict[str, Any]) -> dict[str, Any]:
    for name in ("next", "previous"):
        if body.get(name):
            body[name] = str(httpx.URL(body[name]).copy_with(scheme=None, host=None))
    return body


def _without(name: str) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "results": {
                k: {f: v for f, v in person.items() if f != name}
                for k, person in body["results"].items()
            }
        }

    return change


def test_a_different_server_is_reported_by_operation_and_field(tmp_path: Path) -> None:
    fake = FakeLive()
    # As if PostHog answered the old list shape (integer id), with relative links.
    fake.rewrite(
        "persons_list",
        json_rewrite(_old_list_shape(fake), when=200),
        json_rewrite(_relative_links, when=200),
    )
    # As if it added a field to retrieve and made one null, and dropped one from the lookup.
    fake.rewrite(
        "persons_retrieve",
        json_rewrite(lambda b: {**b, "feature_flags": {}, "created_at": None}, when=200),
    )
    fake.rewrite("persons_batch_by_uuids_create", json_rewrite(_without("last_seen_at"), when=200))
    # A different status, and an error body in the other style.
    fake.rewrite(
        "persons_bulk_delete_create",
        json_rewrite(lambda b: b, status=200, when=202),
        json_rewrite(lambda b: {"error": b["detail"]}, when=400),
    )
    # A 429 without Retry-After.
    fake.rewrite("persons_deletion_status_list", without_header("Retry-After"))
    outcome = run_live(fake.live(), tmp_path, plan=PLAN)

    def seen(operation: str, kind: str, field: str) -> tuple[str, str]:
        found = _found(outcome, operation, kind, field)
        return found.server, found.emulator

    assert seen("persons_list", "type", "results[].id") == ("integer", "string")
    assert seen("persons_list", "pagination", "next (form)") == (
        "relative",
        "absolute, same origin",
    )
    assert seen("persons_retrieve", "missing_field", "feature_flags") == ("object", "absent")
    assert seen("persons_retrieve", "nullability", "created_at") == ("null", "string")
    assert seen("persons_batch_by_uuids_create", "extra_field", "results{}.last_seen_at")[0] == (
        "absent"
    )
    assert seen("persons_bulk_delete_create", "status", "") == ("200", "202")
    assert seen("persons_bulk_delete_create", "error_body", "") == (
        '{"error"}',
        "DRF {type, code, detail, attr}",
    )
    assert seen("persons_deletion_status_list", "header", "retry-after") == ("absent", "seconds")
    # Nothing else: every divergence is about an operation the server was changed in, or a
    # scenario whose checks failed on one side because of it.
    assert {d.operation for d in outcome.divergences} <= {*fake.rewrites, "(scenario)"}, (
        outcome.divergences
    )
    report = outcome.report.read_text(encoding="utf-8")
    assert "## `persons_list`" in report and "`results[].id`" in report


# --------------------------------------------------------------------------- the guards


def test_the_check_refuses_without_its_settings_naming_them() -> None:
    with pytest.raises(RefusedError) as refused:
        Settings.from_env({})
    assert all(name in str(refused.value) for name in REQUIRED)
    with pytest.raises(RefusedError, match="POSTHOG_HOST") as partly:
        Settings.from_env({"POSTHOG_PERSONAL_API_KEY": "phx_x", "POSTHOG_PROJECT_ID": "7"})
    assert "POSTHOG_PROJECT_ID" not in str(partly.value)
    with pytest.raises(RefusedError, match="'my-project'"):
        Settings.from_env(
            {
                "POSTHOG_PERSONAL_API_KEY": "phx_x",
                "POSTHOG_PROJECT_ID": "my-project",
                "POSTHOG_HOST": "https://us.posthog.com",
            }
        )


def test_capture_goes_to_the_cloud_ingestion_host() -> None:
    env = {"POSTHOG_PERSONAL_API_KEY": "phx_x", "POSTHOG_PROJECT_ID": "7"}
    assert Settings.from_env({**env, "POSTHOG_HOST": "https://eu.posthog.com"}).capture_host == (
        "https://eu.i.posthog.com"
    )
    own = Settings.from_env({**env, "POSTHOG_HOST": "https://posthog.example.com/"})
    assert own.capture_host == own.host == "https://posthog.example.com"
    assert "phx_x" not in repr(own)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"{HOST}/api/projects/{PROJECT + 1}/persons/"),  # another project
        ("GET", f"{HOST}/api/projects/{PROJECT}0/persons/"),  # a longer id
        ("GET", f"{HOST}/api/environments/{PROJECT + 1}/persons/"),
        ("GET", f"{HOST}/api/organizations/@current/"),
        ("GET", f"https://elsewhere.example/api/projects/{PROJECT}/persons/"),
        ("POST", f"{CAPTURE}/i/v0/e/"),  # only the batch endpoint
        ("GET", f"{CAPTURE}/batch/"),
    ],
)
def test_no_request_leaves_the_named_project(method: str, url: str) -> None:
    sent: list[httpx.Request] = []
    guard = GuardTransport(
        Perimeter(HOST, str(PROJECT), CAPTURE),
        httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)),  # type: ignore[func-returns-value]
    )
    with httpx.Client(transport=guard) as client, pytest.raises(ForeignRequestError):
        client.request(method, url, params={"token": "x"})
    assert sent == []


def test_a_project_with_many_persons_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    fake = FakeLive(persons=51)
    with pytest.raises(RefusedError, match="more than 50 persons"):
        run_live(fake.live(), tmp_path, plan=PLAN)
    assert fake.captured == []
    assert {r.method for r in fake.sent} == {"GET"}
    assert len(fake.emulator.persons) == 51


def test_a_capture_token_of_another_project_is_refused(tmp_path: Path) -> None:
    fake = FakeLive()
    with pytest.raises(RefusedError, match="POSTHOG_PROJECT_API_KEY is not the token"):
        run_live(fake.live(POSTHOG_PROJECT_API_KEY="phc_another_projects_token"), tmp_path)
    assert fake.captured == []


def test_seeding_that_never_shows_up_stops_the_run(tmp_path: Path) -> None:
    fake = FakeLive(ingest_after=10_000)
    with pytest.raises(RefusedError, match="not all visible after 60 s"):
        run_live(fake.live(), tmp_path, plan=PLAN, seed_timeout=60)
    assert not (tmp_path / "server").exists()


def test_the_command_exits_2_and_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "--out", str(tmp_path)]) == 2
    assert "POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST" in capsys.readouterr().err


# --------------------------------------------------------------------------- the issue


class FakeGitHub:
    """The few `gh` calls the workflow's publishing makes, on an in-memory repository."""

    def __init__(self) -> None:
        # Starts at #2 (#1 is a pull request; `gh issue list` never lists those).
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: list[tuple[int, str]] = []
        self.numbers = iter(range(2, 100))

    def __call__(self, arguments: Sequence[str], stdin: str | None) -> str:
        args = list(arguments)
        if args[:2] == ["issue", "list"]:
            label = args[args.index("--label") + 1]
            found = [
                n for n, i in self.issues.items() if i["state"] == "open" and label in i["labels"]
            ]
            return f"{min(found)}\n" if found else "\n"
        if args[:2] == ["label", "create"]:
            return ""
        if args[:2] == ["issue", "create"]:
            number = next(self.numbers)
            label = args[args.index("--label") + 1]
            self.issues[number] = {"state": "open", "labels": [label], "body": stdin}
            return f"https://github.com/acme/persons/issues/{number}\n"
        number = int(args[2])
        if args[:2] == ["issue", "edit"]:
            self.issues[number]["body"] = stdin
        elif args[:2] == ["issue", "close"]:
            self.comments.append((number, args[args.index("--comment") + 1]))
            self.issues[number]["state"] = "closed"
        else:
            raise AssertionError(f"unexpected gh call: {args}")
        return ""


def test_one_issue_is_opened_updated_then_closed() -> None:
    github = FakeGitHub()

    def send(body: str | None) -> str:
        return publish(body, github, run_url="https://run/9")

    assert send(None) == "nothing to do"
    assert send("# 3 divergences") == "opened #2"
    assert send("# 1 divergence") == "updated #2"
    assert github.issues[2]["body"].startswith("# 1 divergence")
    assert "https://run/9" in github.issues[2]["body"]
    assert send(None) == "closed #2"
    assert github.issues[2]["state"] == "closed" and github.comments[0][0] == 2
    assert send("# 2 divergences") == "opened #3"
    assert len(send("x" * 100_000)) and len(github.issues[3]["body"]) < 65_536


def test_compare_reports_two_recordings(
    agreeing: tuple[FakeLive, Path, Outcome], tmp_path: Path
) -> None:
    _, out, _ = agreeing
    assert (
        main(["compare", str(out / "server"), str(out / "emulator"), "--out", str(tmp_path)]) == 0
    )
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["divergences"] == 0 and report["items"] == []


def test_the_scrubber_moves_live_answers_onto_the_placeholders() -> None:
    from live_contract.recording import Scrubber

    scrub = Scrubber(HOST, str(PROJECT)).text
    body = f'{{"next": "{HOST}/api/projects/{PROJECT}/persons/?offset=5", "k": "{PROJECT_TOKEN}"}}'
    assert scrub(body) == (
        '{"next": "https://posthog.invalid/api/projects/1/persons/?offset=5", "k": "phx_REDACTED"}'
    )
    # Another project's id that merely starts with ours is left alone (and never requested).
    assert scrub(f"/api/projects/{PROJECT}0/") == f"/api/projects/{PROJECT}0/"


def test_update_cassettes_replaces_the_committed_ones(
    agreeing: tuple[FakeLive, Path, Outcome], tmp_path: Path
) -> None:
    from live_contract.cli import install_cassettes

    _, out, _ = agreeing
    stale = tmp_path / "test_generated_operations" / "test_generated_operation[gone].yaml"
    stale.parent.mkdir()
    stale.write_text("interactions: []\n", encoding="utf-8")
    assert install_cassettes(out / "server", tmp_path) == len(SCENARIOS)
    assert not stale.exists()
    assert SeedPlan.load(tmp_path) == PLAN
