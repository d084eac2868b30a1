"""Issue 9: the CLI is a thin layer over the client; its journal records what the client does."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import Emulator, invoke, journal_records, write_lines

import posthog_persons.client
from posthog_persons.batching import BULK_DELETE_BATCH
from posthog_persons.pacing import Pacer


def test_the_journal_records_exactly_the_batches_the_client_sends(
    emulator: Emulator, tmp_path: Path
) -> None:
    persons = emulator.fake.persons[:45]
    ids = [p["distinct_ids"][0] for p in persons]
    write_lines(tmp_path / "ids.txt", [*ids, "nobody-at-all"])
    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--delete-events", "--batch-size", "20",
        "--yes", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    records = journal_records(tmp_path / "ids.txt.journal.jsonl")
    intents = [r for r in records if r["type"] == "intent"]
    # The client deletes by distinct id (resolving them only to know whom to follow), in
    # batches of --batch-size: each intent is one request, with exactly its ids.
    bodies = [r.body for r in emulator.bulk_deletes()]
    assert [i["ids"] for i in intents] == [b["distinct_ids"] for b in bodies]
    assert [len(i["ids"]) for i in intents] == [20, 20, 6]
    uuid_of = {p["distinct_ids"][0]: p["uuid"] for p in persons}
    for intent in intents:
        assert intent["person_uuids"] == [uuid_of[i] for i in intent["ids"] if i in uuid_of]
    results = [r for r in records if r["type"] == "result"]
    assert [r["persons_deleted"] for r in results] == [20, 20, 5]
    assert all(r["persons_queued"] == 0 for r in results)


def test_queued_deletions_are_shown_beside_deleted_and_never_as_failures(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """Newer servers answer persons_deleted: 0, persons_queued_for_deletion: N."""
    emulator = emulator_factory(60, queued_deletion=True, queued_deletion_delay=30)
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:50]])
    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--delete-events", "--batch-size", "20",
        "--yes", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert re.search(r"persons found\s+50\n", result.stdout)
    assert re.search(r"persons deleted\s+0\n", result.stdout)
    assert re.search(r"persons queued\s+50 \(accepted", result.stdout)
    assert re.search(r"deletion errors\s+0\n", result.stdout)
    progress = [line for line in result.stderr.splitlines() if line.startswith("delete: ")]
    assert progress[-1].endswith(", 0 deleted, 50 queued")
    records = journal_records(tmp_path / "ids.txt.journal.jsonl")
    results = [r for r in records if r["type"] == "result"]
    assert [r["persons_queued"] for r in results] == [20, 20, 10]

    # Erased means events deleted AND persons gone: not before the profiles vanish.
    status = ("status", "--journal", "ids.txt.journal.jsonl")
    waiting = invoke(
        *status, "--wait", "--timeout", "0.3", "--poll-interval", "0.1",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert waiting.returncode == 1, waiting.stderr
    assert (
        "Event deletions: 0 of 50 persons completed, 0 pending, 50 with events deleted but the "
        "person still there." in waiting.stdout
    )
    assert "Timed out after 0s; not all erased yet." in waiting.stderr
    emulator.fake.advance(30)
    done = invoke(*status, "--wait", "--timeout", "5", env=emulator.env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Event deletions: 50 of 50 persons completed, 0 pending." in done.stdout


def test_every_client_of_a_run_paces_on_the_runs_one_pacer(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pacers: list[Any] = []
    real_init = posthog_persons.client.PersonsClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        pacers.append(kwargs.get("pacer"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(posthog_persons.client.PersonsClient, "__init__", init)
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:5]])
    for args in (("lookup", "--distinct-ids-file", "ids.txt"), ("get", "1")):
        before = len(pacers)
        assert invoke(*args, env=emulator.env(), cwd=tmp_path).returncode == 0
        run = pacers[before:]
        assert run and all(isinstance(p, Pacer) and p is run[0] for p in run)
    assert pacers[0] is not pacers[-1], "one pacer per run, not per process"


def test_the_batch_size_limit_is_the_clients(emulator: Emulator, tmp_path: Path) -> None:
    write_lines(tmp_path / "ids.txt", ["alice"])
    for size in ("0", str(BULK_DELETE_BATCH + 1)):
        result = invoke(
            "delete", "--distinct-ids-file", "ids.txt", "--batch-size", size, "--yes",
            env=emulator.env(), cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2
        assert f"--batch-size must be between 1 and {BULK_DELETE_BATCH}" in result.stderr
    assert emulator.fake.requests == []
