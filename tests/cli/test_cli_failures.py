"""A job that cannot finish: the server keeps failing (exit 130, resumable) or refuses some
persons (exit 1, listed in the journal)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from cli_support import (
    FAST_RETRIES,
    Emulator,
    assert_no_key,
    invoke,
    journal_records,
    run_cli,
    wait_for,
    write_lines,
)


def test_server_failing_after_the_retries_stops_the_job_resumably(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(2_000)
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt")
    journal = tmp_path / "ids.txt.journal.jsonl"
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "100", "--yes")
    emulator.fake.latency = 0.02

    def fail_after_three_batches() -> None:
        wait_for(lambda: sum(r["type"] == "result" for r in journal_records(journal)) >= 3)
        # From now on every request gets a 502, a 503 or a dropped connection, retries too.
        emulator.fake.fault_rate = 1.0

    trigger = threading.Thread(target=fail_after_three_batches, daemon=True)
    trigger.start()
    # The real command line, with the facade's backoff cut to milliseconds.
    stopped = run_cli(*command, env=emulator.env(), cwd=tmp_path, prelude=FAST_RETRIES)
    trigger.join(timeout=5)

    assert stopped.returncode == 130, stopped.stderr
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("posthog-persons:")]
    assert len(errors) == 1 and "Traceback" not in stopped.stderr, stopped.stderr
    assert re.search(
        r"error: (server error .*even after retrying|cannot reach the server)", errors[0]
    )
    assert "Delete job stopped before the end" in stopped.stdout
    assert "Re-run the same command to resume" in stopped.stdout
    records = journal_records(journal)
    assert records[-1]["type"] == "failure"
    assert 3 <= sum(r["type"] == "result" for r in records) < 20

    emulator.fake.fault_rate = 0.0
    emulator.fake.latency = 0.0
    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert emulator.fake.persons == []
    # The failed batch never got past the faults: it was accepted once, by the resumed run.
    assert emulator.sent_counts() == Counter(ids)
    assert re.search(r"persons deleted\s+2,000\n", resumed.stdout)
    assert_no_key(stopped.stdout, stopped.stderr, resumed.stdout, journal.read_bytes())


def test_persons_the_server_cannot_delete_exit_1_and_are_in_the_journal(
    emulator: Emulator, tmp_path: Path
) -> None:
    persons = emulator.fake.persons[:30]
    stuck = [persons[3]["uuid"], persons[17]["uuid"]]
    emulator.fake.make_undeletable(*stuck)
    write_lines(tmp_path / "uuids.txt", [p["uuid"] for p in persons])
    command = ("delete", "--ids-file", "uuids.txt", "--batch-size", "10", "--yes")

    result = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "Delete job complete" in result.stdout
    assert re.search(r"persons found\s+30\n", result.stdout)
    assert re.search(r"persons deleted\s+28\n", result.stdout)
    assert re.search(r"deletion errors\s+2\n", result.stdout)
    assert f"2 persons could not be deleted ({stuck[0]}, {stuck[1]})" in result.stderr
    records = journal_records(tmp_path / "uuids.txt.journal.jsonl")
    listed = [uuid for r in records if r["type"] == "result" for uuid in r["errors"]]
    assert listed == stuck
    assert {p["uuid"] for p in emulator.fake.persons} >= set(stuck)
    assert emulator.fake.contract_errors == []

    # The job is finished: running it again sends nothing and says the same.
    requests = len(emulator.fake.requests)
    again = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert again.returncode == 1
    assert "already complete" in again.stderr and "2 persons could not be deleted" in again.stderr
    assert len(emulator.fake.requests) == requests
