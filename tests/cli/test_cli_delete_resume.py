"""Delete jobs survive SIGKILL and SIGINT: the journal resumes them, nothing skipped or doubled."""

from __future__ import annotations

import fcntl
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import (
    Emulator,
    assert_no_key,
    invoke,
    journal_records,
    last_record,
    start_cli,
    wait_for,
    write_lines,
)


def _check_journal(path: Path, batches: int, *, stops: int = 1) -> list[dict[str, object]]:
    records = journal_records(path)
    results = [r for r in records if r["type"] == "result"]
    assert sorted(int(r["batch"]) for r in results) == list(range(batches)), "one per batch"
    attempts = Counter(int(r["batch"]) for r in records if r["type"] == "intent")
    # Each stopped run leaves at most one batch whose result is unknown, re-sent once.
    assert sum(n - 1 for n in attempts.values()) <= stops, "at most one batch re-sent per stop"
    return records


@pytest.mark.slow
def test_sigkill_mid_request_then_resume(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(25_000)
    # Each request takes 20 ms: the kill lands while a batch is on the wire.
    emulator.fake.latency = 0.02
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt")
    journal = tmp_path / "ids.txt.journal.jsonl"
    command = ("delete", "--distinct-ids-file", "ids.txt", "--yes")

    process = start_cli(*command, env=emulator.env(), cwd=tmp_path)

    def in_flight() -> bool:
        record = last_record(journal)
        return record is not None and record["type"] == "intent" and int(record["batch"]) >= 10

    wait_for(in_flight, timeout=60)
    # Most likely inside the emulator's 20 ms by now: it deletes the batch, the client is dead.
    time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    killed_batch = int(journal_records(journal)[-1]["batch"])
    # As if the kill had also torn the next line in half.
    with journal.open("ab") as handle:
        handle.write(b'{"type":"result","batch":')

    emulator.fake.latency = 0.0
    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert emulator.fake.persons == [], "every person of the file is deleted"
    sent = emulator.sent_counts()
    assert set(sent) == set(ids), "no id skipped"
    twice = {i for i, n in sent.items() if n > 1}
    assert twice <= set(ids[killed_batch * 1000 : (killed_batch + 1) * 1000])
    records = _check_journal(journal, 25)
    result = next(r for r in records if r["type"] == "result" and r["batch"] == killed_batch)
    # Whatever the kill interrupted, the batch is sent again, and the journal says so.
    assert result["attempt"] == 2 and result["resent"] is True
    assert f"Re-sent after an interruption: batch {killed_batch + 1}." in resumed.stdout
    if twice:
        # The emulator had handled the request the killed run never heard back about: the
        # re-send found nobody, and only what the server confirmed is counted.
        assert twice == set(ids[killed_batch * 1000 : (killed_batch + 1) * 1000])
        assert result["persons_found"] == result["persons_deleted"] == 0
        assert re.search(r"persons deleted\s+24,000\n", resumed.stdout)
    else:
        # The kill came before the request reached the server: the re-send deleted them.
        assert result["persons_deleted"] == 1000
        assert re.search(r"persons deleted\s+25,000\n", resumed.stdout)
    assert re.search(r"processed\s+25,000 of 25,000", resumed.stdout)
    assert_no_key(resumed.stdout, resumed.stderr, stderr, journal.read_bytes())


@pytest.mark.slow
def test_sigkill_before_the_server_saw_the_batch_resends_it_once(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(5_000)
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt")
    journal = tmp_path / "job.jsonl"
    command = (
        "delete",
        "--distinct-ids-file",
        "ids.txt",
        "--journal",
        "job.jsonl",
        "--batch-size",
        "500",
        "--yes",
    )
    emulator.fake.latency = 0.02
    process = start_cli(*command, env=emulator.env(), cwd=tmp_path)
    wait_for(lambda: sum(r["type"] == "result" for r in journal_records(journal)) >= 3)
    # From now on every request fails before the server acts on it; the client retries.
    emulator.fake.fault_rate = 1.0
    wait_for(lambda: (last_record(journal) or {}).get("type") == "intent")
    wait_for(lambda: any(r.fault for r in emulator.fake.requests))
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    killed_batch = int(journal_records(journal)[-1]["batch"])
    emulator.fake.fault_rate = 0.0
    emulator.fake.latency = 0.0

    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert emulator.fake.persons == []
    sent = emulator.sent_counts()
    # Each id was in exactly one request the server acted on: the re-send was the first.
    assert sent == Counter(ids)
    records = _check_journal(journal, 10)
    intents = [r for r in records if r["type"] == "intent" and r["batch"] == killed_batch]
    assert [r["attempt"] for r in intents] == [1, 2]
    assert re.search(r"persons deleted\s+5,000\n", resumed.stdout)
    assert "1 re-sent after an interruption" in resumed.stdout


@pytest.mark.slow
def test_sigkill_at_random_instants_then_resume(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """Killed again and again wherever it happens to be: starting, reading, mid-request,
    mid-journal write, resuming a re-sent batch. Every person is deleted, none twice."""
    emulator = emulator_factory(6_000)
    # 100 batches of at least 10 ms: a run killed within 0.8 s (start-up included) cannot
    # get through them all, so every kill lands somewhere in the job.
    emulator.fake.latency = 0.01
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt")
    journal = tmp_path / "ids.txt.journal.jsonl"
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "60", "--yes")
    rng = random.Random(20260)
    kills = 0
    # How many kills left each batch in flight (a re-sent batch can be killed again).
    in_flight_at_a_kill: Counter[int] = Counter()
    for _ in range(6):
        process = start_cli(*command, env=emulator.env(), cwd=tmp_path)
        time.sleep(rng.uniform(0.05, 0.8))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        if process.returncode != -signal.SIGKILL:
            break  # it finished first
        kills += 1
        records = journal_records(journal)
        if records and records[-1]["type"] == "intent":
            in_flight_at_a_kill[int(records[-1]["batch"])] += 1

    emulator.fake.latency = 0.0
    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert kills >= 3, "the job must actually have been killed a few times"
    assert emulator.fake.persons == [], "every person of the file is deleted"
    sent = emulator.sent_counts()
    assert set(sent) == set(ids), "no id skipped"
    twice = {i for i, n in sent.items() if n > 1}
    # Sent once, plus once more for each kill that left its batch's answer unknown.
    for index, value in enumerate(ids):
        assert sent[value] <= 1 + in_flight_at_a_kill[index // 60], value
    _check_journal(journal, 100, stops=kills)
    assert re.search(r"processed\s+6,000 of 6,000", resumed.stdout)
    # Exact: what the server confirmed. The ids sent twice were deleted by a request whose
    # answer a kill lost; their re-send found nobody, and nobody is counted twice or guessed.
    assert re.search(rf"persons deleted\s+{6000 - len(twice):,}\n", resumed.stdout)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_finishes_the_batch_then_resumes(
    emulator_factory: Callable[..., Emulator], tmp_path: Path, stop: signal.Signals
) -> None:
    emulator = emulator_factory(3_000)
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt")
    journal = tmp_path / "ids.txt.journal.jsonl"
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "200", "--yes")
    emulator.fake.latency = 0.05
    process = start_cli(*command, env=emulator.env(), cwd=tmp_path)
    wait_for(lambda: sum(r["type"] == "result" for r in journal_records(journal)) >= 2)
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stderr
    assert b"Stopping after the current batch" in stderr
    assert b"Re-run the same command to resume" in stdout
    records = journal_records(journal)
    # Consistent: the batch in flight at ^C was finished and recorded, nothing is pending.
    assert records[-1]["type"] == "interrupted"
    intents = [r["batch"] for r in records if r["type"] == "intent"]
    results = [r["batch"] for r in records if r["type"] == "result"]
    assert intents == results and 0 < len(results) < 15

    emulator.fake.latency = 0.0
    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert emulator.fake.persons == []
    assert emulator.sent_counts() == Counter(ids), "nothing sent twice, nothing skipped"
    assert re.search(r"persons deleted\s+3,000\n", resumed.stdout)
    _check_journal(journal, 15)
    # Not a terminal: plain lines, no bar redrawn with control characters, ending on the total.
    progress = [line for line in resumed.stderr.splitlines() if line.startswith("delete: ")]
    assert progress and progress[-1].startswith("delete: 3,000/3,000 ids (100%), ")
    assert "\r" not in resumed.stderr and "\x1b" not in resumed.stderr


def test_resume_is_refused_when_flags_or_input_change(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt", 100)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "40", "--yes")
    first = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    requests = len(emulator.fake.requests)

    again = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert again.returncode == 0
    assert "already complete" in again.stderr
    assert len(emulator.fake.requests) == requests, "a finished job sends nothing"

    flags = invoke(*command, "--delete-events", env=emulator.env(), cwd=tmp_path)
    assert flags.returncode == 2
    assert "refusing to resume" in flags.stderr and "--delete-events" in flags.stderr
    batch = invoke(*command[:-3], "--batch-size", "50", "--yes", env=emulator.env(), cwd=tmp_path)
    assert batch.returncode == 2 and "--batch-size" in batch.stderr

    write_lines(tmp_path / "ids.txt", [*ids, "one-more"])
    changed = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert changed.returncode == 2
    assert "input file content" in changed.stderr
    assert len(emulator.fake.requests) == requests, "a refused resume sends nothing"
    for result in (flags, batch, changed):
        assert len(result.stderr.strip().splitlines()[-1]) > 40
        assert "Traceback" not in result.stderr


def test_no_terminal_and_no_yes_refuses(emulator: Emulator, tmp_path: Path) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 10)
    result = invoke("delete", "--distinct-ids-file", "ids.txt", env=emulator.env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert emulator.bulk_deletes(ok_only=False) == []
    assert not (tmp_path / "ids.txt.journal.jsonl").exists()


def test_dry_run_counts_and_deletes_nothing(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt", 50)
    write_lines(tmp_path / "ids.txt", [*ids, "nobody-1", "nobody-2"])
    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--dry-run", env=emulator.env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"matching a person\s+50\n", result.stdout)
    assert re.search(r"matching no person\s+2\n", result.stdout)
    assert re.search(r"persons to delete\s+50\n", result.stdout)
    assert emulator.bulk_deletes(ok_only=False) == []
    assert len(emulator.fake.persons) == 300


def test_delete_events_by_distinct_id_tracks_uuids_and_status_waits(
    emulator: Emulator, tmp_path: Path
) -> None:
    persons = emulator.fake.persons[:120]
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in persons])
    # The emulator's clock decides when deletions complete: an hour, then advanced at will.
    emulator.fake.deletion_delay = 3600
    result = invoke(
        "delete",
        "--distinct-ids-file",
        "ids.txt",
        "--delete-events",
        "--batch-size",
        "50",
        "--yes",
        env=emulator.env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "status --journal ids.txt.journal.jsonl --wait" in result.stdout
    records = journal_records(tmp_path / "ids.txt.journal.jsonl")
    tracked = [u for r in records if r["type"] == "intent" for u in r["person_uuids"]]
    assert sorted(tracked) == sorted(p["uuid"] for p in persons)

    status = invoke(
        "status", "--journal", "ids.txt.journal.jsonl", env=emulator.env(), cwd=tmp_path
    )
    assert status.returncode == 0, status.stderr
    assert "Event deletions: 0 of 120 persons completed, 120 pending." in status.stdout

    short = invoke(
        "status", "--journal", "ids.txt.journal.jsonl", "--wait", "--timeout", "0.1",
        "--poll-interval", "0.05", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert short.returncode == 1
    assert "Timed out" in short.stderr

    emulator.fake.advance(3600)
    waited = invoke(
        "status", "--journal", "ids.txt.journal.jsonl", "--wait", "--timeout", "30",
        "--poll-interval", "0.2", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert waited.returncode == 0, waited.stderr
    assert "120 of 120 persons completed, 0 pending" in waited.stdout
    assert_no_key(result.stdout, status.stdout, waited.stdout, waited.stderr)


def test_keep_person_alone_is_refused_before_anything_starts(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 10)
    for extra in ((), ("--dry-run",)):
        result = invoke(
            "delete", "--distinct-ids-file", "ids.txt", "--keep-person", "--yes", *extra,
            env=emulator.env(), cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2
        assert "--keep-person deletes nothing on its own" in result.stderr
    assert not (tmp_path / "ids.txt.journal.jsonl").exists(), "no journal asks to be resumed"
    assert [r for r in emulator.fake.requests if r.operation == "bulk_delete"] == []


def test_a_journal_killed_before_its_first_line_was_complete_starts_afresh(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 20)
    journal = tmp_path / "ids.txt.journal.jsonl"
    # What an older release killed mid-write of its first line could leave: this tool's own
    # first bytes, no complete line, so no intent was ever written.
    torn = b'{"type":"job","format":"posthog-persons-journal/1","tool":"posthog-pers'
    journal.write_bytes(torn)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--yes")
    with journal.open("rb") as held:
        # As a run that is creating the journal right now holds it: neither removed nor used.
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert busy.returncode == 2
    assert "in use by another posthog-persons process" in busy.stderr
    assert journal.read_bytes() == torn
    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--yes", env=emulator.env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"persons deleted\s+20\n", result.stdout)
    assert journal_records(journal)[0]["type"] == "job"


def test_a_bare_dash_reads_distinct_ids_from_stdin(emulator: Emulator, tmp_path: Path) -> None:
    ids = "".join(p["distinct_ids"][0] + "\n" for p in emulator.fake.persons[:15])
    result = invoke(
        "delete", "-", "--journal", "job.jsonl", "--yes",
        env=emulator.env(), cwd=tmp_path, stdin=ids,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Read standard input: 15 lines, 15 unique distinct ids." in result.stderr
    assert re.search(r"persons deleted\s+15\n", result.stdout)
    both = invoke("delete", "-", "--ids-file", "x", env=emulator.env(), cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with argument -" in both.stderr
