"""export, get and lookup: what they print is exactly the emulator's data."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import PEAK_MEMORY, Emulator, assert_no_key, invoke, run_cli, write_lines


def _listed(person: dict[str, Any]) -> dict[str, Any]:
    """A person as the 2026 server lists it: an "actor", whose `id` is its UUID, not the
    numeric id (posthog/api/person.py, PersonViewSet.list), so exports carry no numeric id."""
    return {**person, "id": None}


def _exported(record: dict[str, Any]) -> dict[str, Any]:
    """An exported record's person fields (the actor's own extras aside)."""
    assert record["type"] == "person" and "is_identified" in record
    return {key: record[key] for key in _PERSON_FIELDS}


_PERSON_FIELDS = ("id", "uuid", "name", "distinct_ids", "properties", "created_at", "last_seen_at")


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    return {
        "id": int(row["id"]) if row["id"] else None,
        "uuid": row["uuid"],
        "name": row["name"] or None,
        "distinct_ids": json.loads(row["distinct_ids"]),
        "properties": json.loads(row["properties"]),
        "created_at": row["created_at"],
        "last_seen_at": row["last_seen_at"] or None,
    }


@pytest.mark.slow
def test_export_20000_persons_jsonl_and_csv(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(20_000)
    expected = emulator.fake.persons

    jsonl = invoke("export", "-o", "persons.jsonl", env=emulator.env(), cwd=tmp_path)
    assert jsonl.returncode == 0, jsonl.stderr
    assert "Exported 20,000 persons to persons.jsonl (jsonl)." in jsonl.stderr
    with (tmp_path / "persons.jsonl").open(encoding="utf-8") as handle:
        exported = [_exported(json.loads(line)) for line in handle]
    assert exported == [_listed(p) for p in expected]

    as_csv = run_cli(
        "export", "-o", "persons.csv", env=emulator.env(), cwd=tmp_path, prelude=PEAK_MEMORY
    )
    assert as_csv.returncode == 0, as_csv.stderr
    with (tmp_path / "persons.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [_csv_record(row) for row in rows] == [_listed(p) for p in expected]
    assert not list(tmp_path.glob("*.partial"))
    assert_no_key(jsonl.stderr, as_csv.stderr)

    # Constant memory: 20,000 persons held at once would take tens of MB (about 1.3 kB each
    # as Python objects); streamed, the peak is that of exporting one, give or take noise.
    one = run_cli(
        "export", "--distinct-id", expected[0]["distinct_ids"][0], "--format", "csv",
        env=emulator.env(), cwd=tmp_path, prelude=PEAK_MEMORY,
    )  # fmt: skip
    assert one.returncode == 0 and len(one.stdout.splitlines()) == 2, one.stderr
    assert _peak_kb(as_csv.stderr) - _peak_kb(one.stderr) < 8_000


def _peak_kb(stderr: str) -> int:
    """The peak resident memory the CLI reported (PEAK_MEMORY), on Linux; else 0."""
    if not sys.platform.startswith("linux"):
        return 0
    match = re.search(r"peak memory kB: (\d+)", stderr)
    assert match, stderr
    return int(match[1])


def test_export_filters_to_stdout(emulator: Emulator, tmp_path: Path) -> None:
    expected = [p for p in emulator.fake.persons if p["properties"].get("plan") == "pro"]
    assert expected

    result = invoke("export", "--property", "plan=pro", env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    exported = [_exported(json.loads(line)) for line in result.stdout.splitlines()]
    assert exported == [_listed(p) for p in expected]
    bad = invoke("export", "--property", "plan", env=emulator.env(), cwd=tmp_path)
    assert bad.returncode == 2 and "expected key=value" in bad.stderr


def test_get_and_lookup(emulator: Emulator, tmp_path: Path) -> None:
    person = emulator.fake.persons[3]
    for ref in (str(person["id"]), person["uuid"]):
        result = invoke("get", ref, env=emulator.env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == person
    by_distinct = invoke(
        "get", "--distinct-id", person["distinct_ids"][0], env=emulator.env(), cwd=tmp_path
    )
    assert json.loads(by_distinct.stdout) == person
    missing = invoke("get", "99999", env=emulator.env(), cwd=tmp_path)
    assert missing.returncode == 1 and "no person with the id '99999'" in missing.stderr

    wanted = [p["distinct_ids"][0] for p in emulator.fake.persons[:250]]
    write_lines(tmp_path / "ids.txt", [*wanted, "nobody"])
    result = invoke("lookup", "--distinct-ids-file", "ids.txt", env=emulator.env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in records] == [*wanted, "nobody"]
    assert [r["uuid"] for r in records[:250]] == [p["uuid"] for p in emulator.fake.persons[:250]]
    assert records[-1] == {"input": "nobody", "found": False}
    assert "Found 250 of 251 distinct ids (1 match no person)." in result.stderr

    as_csv = invoke(
        "lookup", "--distinct-ids-file", "ids.txt", "--format", "csv",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    rows = list(csv.DictReader(as_csv.stdout.splitlines()))
    assert rows[0]["found"] == "true" and rows[-1]["found"] == "false"
    assert rows[-1]["uuid"] == ""


def test_environment_scope(emulator: Emulator, tmp_path: Path) -> None:
    person = emulator.fake.persons[0]
    env = emulator.env()
    del env["POSTHOG_PROJECT_ID"]
    result = invoke("--environment-id", "1", "get", person["uuid"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == person
    # --environment-id is a deprecated alias of the project id (issue 8): the projects scope.
    assert emulator.fake.requests[-1].path.startswith("/api/projects/1/persons/")
    both = invoke("--environment-id", "1", "--project-id", "1", "get", "1", env=env, cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_help_reads_well() -> None:
    for args in ((), ("delete",), ("status",), ("export",), ("get",), ("lookup",)):
        result = invoke(*args, "--help", env={"COLUMNS": "100"}, cwd=Path.cwd())
        assert result.returncode == 0, result.stderr
        assert "examples:" in result.stdout
        assert "usage: posthog-persons" in result.stdout
        assert max(len(line) for line in result.stdout.splitlines()) <= 100, result.stdout
    delete = invoke("delete", "--help", env={"COLUMNS": "100"}, cwd=Path.cwd()).stdout
    assert "(--distinct-ids-file FILE | --ids-file FILE | -)" in delete
    assert "exit codes:" in delete and "journal and resume:" in delete
