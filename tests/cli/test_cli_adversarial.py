"""Issue 11: the erasure job never harms and never lies, in a hostile environment.

Each test reproduces one finding of the adversarial review (bad journal paths, damaged or
vanishing journals, two runs at once, a misbehaving server, a full disk) against the
emulator. In-process (`invoke`) unless the behaviour needs a process of its own.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import re
import shutil
import stat
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    API_KEY,
    Emulator,
    assert_no_key,
    invoke,
    journal_records,
    lose_answers,
    run_cli,
    start_cli,
    wait_for,
    write_lines,
)

import posthog_persons.client
from posthog_persons.cli import journal as journal_module
from posthog_persons.cli.journal import MAGIC, JobSpec, JournalWriter
from posthog_persons.retry import RetryPolicy

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The facade's retries at their usual count, without the seconds of backoff."""
    monkeypatch.setattr(
        posthog_persons.client,
        "RetryPolicy",
        functools.partial(RetryPolicy, backoff_base=0.001, backoff_max=0.005),
    )


def _one_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("posthog-persons: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


# --- 1. --journal never destroys a file --------------------------------------------------


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device like /dev/<name> (major 1): a copy in tmp_path when this test may
    make one (root), so that a regression cannot delete the machine's own; else the real one,
    which a user without privileges could not delete anyway."""
    if os.geteuid() == 0:
        node = tmp_path / name
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        return node
    return Path("/dev") / name


def _file(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        (tmp_path / name).write_bytes(content)
        return tmp_path / name

    return make


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe")
    return tmp_path / "pipe"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "journals").mkdir()
    (tmp_path / "journals" / "keep.txt").write_text("x")
    return tmp_path / "journals"


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "nowhere")
    return tmp_path / "link.jsonl"


def _snapshot(path: Path) -> tuple[object, ...]:
    info = os.lstat(path)
    content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
    return (info.st_mode, info.st_ino, info.st_rdev, content)


@pytest.mark.timeout(30)  # today's bug with a FIFO, /dev/zero or /dev/full: a hang
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            _file("notes.txt", b"quarterly numbers"),
            "exists and is not a posthog-persons journal: refusing to use or replace it",
        ),
        (
            _file("list.txt", b'{"type": "job"}\nsecond line\n'),
            "exists and is not a posthog-persons journal",
        ),
        (
            _file("empty.jsonl", b""),
            "exists and is empty, so it is not a journal of this tool and is left alone",
        ),
        (
            # The start of a job line, too short to be recognisably this tool's.
            _file("short.jsonl", b'{"type":"job","format":"posthog-pers'),
            "exists and is not a posthog-persons journal",
        ),
        (_fifo, "is a named pipe (FIFO), not a journal file"),
        (_directory, "is a directory, not a journal file"),
        (lambda tmp: _device(tmp, "null", 3), "is a device, not a journal file"),
        (lambda tmp: _device(tmp, "zero", 5), "is a device, not a journal file"),
        (lambda tmp: _device(tmp, "full", 7), "is a device, not a journal file"),
        (_dangling, "is a symbolic link to nothing"),
    ],
    ids=[
        "document", "lines", "empty", "short-prefix", "fifo", "directory",
        "dev-null", "dev-zero", "dev-full", "dangling-symlink",
    ],
)  # fmt: skip
def test_a_journal_path_that_is_not_this_tools_journal_is_refused_untouched(
    emulator: Emulator, tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 5)
    target = make(tmp_path)
    before = _snapshot(target)
    listing = sorted(os.listdir(tmp_path))

    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--journal", str(target), "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    line = _one_error(result.stderr)
    assert f"journal {target}: {expected}" in line
    assert _snapshot(target) == before, "the file is exactly as it was"
    assert sorted(os.listdir(tmp_path)) == listing, "nothing created beside it"
    assert emulator.fake.requests == [], "refused before any request"


def test_a_torn_journal_of_this_tool_is_discarded_and_a_new_one_appears_complete_and_locked(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a file with this tool's first bytes and no complete line is ever discarded, and
    a new journal is visible under its name only once complete and locked."""
    emulator.write_distinct_ids(tmp_path / "ids.txt", 5)
    journal = tmp_path / "ids.txt.journal.jsonl"
    journal.write_bytes(MAGIC + b'1","tool":"posthog-persons 0.1.0","sp')
    locked_incomplete: list[bytes] = []
    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        # Whenever the file under the journal's name gets locked: was it visible there
        # incomplete? (Release 0.1.0 created it empty, then locked it, then wrote it.)
        if os.path.exists(journal) and os.fstat(fd).st_ino == os.stat(journal).st_ino:
            content = journal.read_bytes()
            if b"\n" not in content:
                locked_incomplete.append(content)
        real_flock(fd, operation)

    monkeypatch.setattr(journal_module.fcntl, "flock", flock)
    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--yes", env=emulator.env(), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"persons deleted\s+5\n", result.stdout)
    # The torn file was locked (to be discarded); the new journal never was seen incomplete.
    assert locked_incomplete == [MAGIC + b'1","tool":"posthog-persons 0.1.0","sp']
    assert journal.read_bytes().startswith(MAGIC)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_journal_creation_without_hard_links_still_creates_it_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(journal_module.os, "link", no_links)
    spec = JobSpec(
        kind="distinct_ids", input="ids.txt", input_sha256="0" * 64, ids_sha256="1" * 64,
        column=None, total=1, batch_size=1000, delete_events=False, delete_recordings=False,
        keep_person=False, host="https://us.posthog.com", scope="projects", project_id="1",
    )  # fmt: skip
    path = tmp_path / "job.jsonl"
    with JournalWriter.create(path, spec, tool="test"), path.open("rb") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert json.loads(other.readline())["spec"]["ids_sha256"] == "1" * 64
    assert os.listdir(tmp_path) == ["job.jsonl"]


# --- 2. a journal written by release 0.1.0 still resumes -----------------------------------


def test_a_journal_written_by_release_0_1_0_resumes(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """fixtures/journal-0.1.0 was written by 0.1.0 itself (see its make.py): batch 2 recorded
    without a request ("already_gone"), batch 4 in flight, a torn last line."""
    emulator = emulator_factory(50)
    source = FIXTURES / "journal-0.1.0"
    shutil.copy(source / "ids.txt", tmp_path / "ids.txt")
    lines = (source / "journal.jsonl").read_bytes().split(b"\n", 1)
    job = json.loads(lines[0])
    old_host = job["spec"]["host"]
    # The emulator that 0.1.0 talked to is gone; this one has the same persons.
    (tmp_path / "ids.txt.journal.jsonl").write_bytes(
        lines[0].replace(old_host.encode(), emulator.url.encode()) + b"\n" + lines[1]
    )
    ids = (tmp_path / "ids.txt").read_text().split()
    # As the server was left: batches 1 to 4 were deleted (the last one's answer was lost).
    gone = [p for p in emulator.fake.persons if p["distinct_ids"][0] in set(ids[:40])]
    with emulator.fake.client() as http:
        body = {"ids": [p["uuid"] for p in gone], "delete_events": True}
        assert http.post("/api/projects/1/persons/bulk_delete/", json=body).status_code == 202
    emulator.fake.clear_requests()

    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--delete-events", "--batch-size", "10",
        "--yes", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert emulator.fake.persons == []
    # The batch in flight (4) is sent again, then batch 5: each once, by distinct id.
    assert emulator.sent_counts() == Counter(ids[30:])
    assert re.search(r"processed\s+50 of 50 \(5 of 5 batches; 2 re-sent", result.stdout)
    # What the server confirmed: batches 1, 3 and 5; batch 2's "already_gone" was never
    # confirmed, and batch 4's re-send found nobody.
    assert re.search(r"persons found\s+30\n", result.stdout)
    assert re.search(r"persons deleted\s+30\n", result.stdout)
    assert "Re-sent after an interruption: batch 2, 4." in result.stdout
    records = journal_records(tmp_path / "ids.txt.journal.jsonl")
    assert [r["attempt"] for r in records if r["type"] == "intent" and r["batch"] == 3] == [1, 2]
    # Every person whose events were queued is followed by `status`, 0.1.0's batches too.
    status = invoke(
        "status", "--journal", "ids.txt.journal.jsonl", env=emulator.env(), cwd=tmp_path
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Event deletions: 50 of 50 persons completed, 0 pending." in status.stdout


# --- 4. one input, one job -------------------------------------------------------------------


def test_a_second_concurrent_job_over_the_same_ids_and_project_is_refused_unless_forced(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(600)
    emulator.write_distinct_ids(tmp_path / "ids.txt", 600)
    shutil.copy(tmp_path / "ids.txt", tmp_path / "copy.txt")
    emulator.fake.latency = 0.05
    first = start_cli(
        "delete", "--distinct-ids-file", "ids.txt", "--journal", "a.jsonl", "--batch-size", "20",
        "--yes", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_for(lambda: any(r["type"] == "result" for r in journal_records(tmp_path / "a.jsonl")))

        # Another journal, even another copy of the file: the same ids into the same project.
        for name in ("ids.txt", "copy.txt"):
            second = invoke(
                "delete", "--distinct-ids-file", name, "--journal", "b.jsonl", "--yes",
                env=emulator.env(), cwd=tmp_path,
            )  # fmt: skip
            assert second.returncode == 2, second.stderr
            line = _one_error(second.stderr)
            assert "another posthog-persons job is deleting these same ids" in line
            assert f"pid {first.pid}, journal {tmp_path / 'a.jsonl'}" in line
            assert "--force" in line
            assert not (tmp_path / "b.jsonl").exists()
        # A different project is a different job (refused there for its own reason).
        other = invoke(
            "delete", "--distinct-ids-file", "ids.txt", "--journal", "c.jsonl", "--yes",
            env=emulator.env(POSTHOG_PROJECT_ID="2"), cwd=tmp_path,
        )  # fmt: skip
        assert "another posthog-persons job" not in other.stderr

        forced = invoke(
            "delete", "--distinct-ids-file", "ids.txt", "--journal", "b.jsonl",
            "--batch-size", "300", "--force", "--yes", env=emulator.env(), cwd=tmp_path,
        )  # fmt: skip
        assert forced.returncode == 0, forced.stderr
    finally:
        first.communicate(timeout=60)
    assert first.returncode == 0
    assert emulator.fake.persons == []


# --- 3. a malformed answer stops the job as a server failure --------------------------------


@pytest.mark.parametrize(
    ("operation", "body", "flags"),
    [
        ("persons_batch_by_distinct_ids_create", {"results": None}, ("--delete-events",)),
        ("persons_batch_by_distinct_ids_create", {"results": []}, ("--delete-events",)),
        ("persons_bulk_delete_create", {}, ()),
        ("persons_bulk_delete_create", {"persons_found": 10}, ()),
        ("persons_bulk_delete_create", {"persons_deleted": "10", "persons_found": 10}, ()),
    ],
    ids=["lookup-null", "lookup-list", "delete-empty", "delete-no-deleted", "delete-string"],
)
def test_a_malformed_answer_stops_the_job_resumably_and_the_batch_is_not_done(
    emulator: Emulator,
    tmp_path: Path,
    fast_retries: None,
    operation: str,
    body: dict[str, object],
    flags: tuple[str, ...],
) -> None:
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt", 30)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "10", *flags, "--yes")
    # The server acts as usual, then answers `body`; the lookups go wrong after the first
    # (the access check before anything is deleted).
    calls = Counter[str]()

    def malformed(answer: object) -> object:
        calls[operation] += 1
        return answer if "lookup" in request_id and calls[operation] == 1 else body

    request_id = "lookup" if "batch_by" in operation else "delete"
    emulator.fake.transform(operation, malformed)

    stopped = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    assert "unexpected response" in _one_error(stopped.stderr)
    assert "Re-run the same command to resume" in stopped.stdout
    records = journal_records(tmp_path / "ids.txt.journal.jsonl")
    assert not any(r["type"] == "result" for r in records), "no batch is marked done"
    assert records[-1]["type"] == "failure"

    emulator.fake.clear_overrides()
    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "already complete" not in resumed.stderr
    assert {p["distinct_ids"][0] for p in emulator.fake.persons}.isdisjoint(ids)


# --- 5. counts after a resume are exact --------------------------------------------------


_HALF_NOBODY = (
    "delete", "--ids-file", "uuids.txt", "--delete-events", "--batch-size", "10", "--yes"
)  # fmt: skip


def _half_nobody_stopped_at_batch_2(emulator: Emulator, tmp_path: Path) -> list[dict[str, Any]]:
    """`_HALF_NOBODY` over 20 persons' UUIDs interleaved with 20 matching nobody: the server
    deletes batch 2, then its answer is lost and the run stops. Returns the 20 persons."""
    persons = emulator.fake.persons[:20]
    nobody = [str(uuid.UUID(int=n + 1)) for n in range(20)]
    uuids = [u for pair in zip([p["uuid"] for p in persons], nobody, strict=True) for u in pair]
    write_lines(tmp_path / "uuids.txt", uuids)
    emulator.fake.deletion_delay = 3600
    # The server acts on batch 2 (and on every retry); the client hears only 502s.
    found_again = lose_answers(emulator.fake, "persons_bulk_delete_create", lambda n: n > 1)
    stopped = invoke(*_HALF_NOBODY, env=emulator.env(), cwd=tmp_path)
    assert stopped.returncode == 130, stopped.stderr
    assert len(emulator.fake.persons) == 290, "batch 2's persons were deleted all the same"
    found_again()
    return persons


def test_a_resent_batch_counts_what_the_server_confirmed(
    emulator: Emulator, tmp_path: Path, fast_retries: None
) -> None:
    """UUIDs of which half match nobody; the server deletes batch 2, then its answer is lost."""
    persons = _half_nobody_stopped_at_batch_2(emulator, tmp_path)
    resumed = invoke(*_HALF_NOBODY, env=emulator.env(), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert len(emulator.fake.persons) == 280
    # 5 persons in each of 4 batches: the server confirmed 15 (batch 2's re-send found none).
    assert re.search(r"persons found\s+15\n", resumed.stdout)
    assert re.search(r"persons deleted\s+15\n", resumed.stdout)
    assert "Re-sent after an interruption: batch 2." in resumed.stdout
    assert "(at most 10)" in resumed.stdout
    assert "Event deletion was requested for the 15 persons found" in resumed.stdout
    records = journal_records(tmp_path / "uuids.txt.journal.jsonl")
    second = [r for r in records if r["type"] == "result" and r["batch"] == 1]
    assert second == [second[0]] and second[0]["attempt"] == 2 and second[0]["resent"] is True
    # Only the persons that existed are journalled and followed (the client looks the UUIDs
    # up before each batch; the server queues event deletion for those it finds): batch 2's
    # first attempt resolved its 5, its re-send none, and they are followed all the same.
    tracked = [u for r in records if r["type"] == "intent" for u in r["person_uuids"]]
    assert sorted(tracked) == sorted(p["uuid"] for p in persons)
    status = invoke(
        "status", "--journal", "uuids.txt.journal.jsonl", env=emulator.env(), cwd=tmp_path
    )
    assert status.returncode == 0, status.stderr
    assert "Event deletions: 0 of 20 persons completed, 20 pending." in status.stdout
    emulator.fake.advance(3600)
    waited = invoke(
        "status", "--journal", "uuids.txt.journal.jsonl", "--wait", "--timeout", "30",
        "--poll-interval", "0.2", env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert "Event deletions: 20 of 20 persons completed, 0 pending." in waited.stdout


def test_an_ids_journal_without_resolved_persons_as_0_1_0_wrote_it_resumes(
    emulator: Emulator, tmp_path: Path, fast_retries: None
) -> None:
    """Release 0.1.0 journalled a batch of UUIDs without the persons it matched: such a
    journal resumes; its batches' UUIDs are all followed (which matched nobody is not known
    any more), the batches sent now only the persons that existed."""
    _half_nobody_stopped_at_batch_2(emulator, tmp_path)
    journal = tmp_path / "uuids.txt.journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    for n, line in enumerate(lines):
        record = json.loads(line)
        if record.pop("person_uuids", None) is not None:  # batch 1, and 2 (in flight)
            lines[n] = json.dumps(record, separators=(",", ":")) + "\n"
    journal.write_text("".join(lines))

    resumed = invoke(*_HALF_NOBODY, env=emulator.env(), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert len(emulator.fake.persons) == 280
    assert re.search(r"persons found\s+15\n", resumed.stdout)
    status = invoke("status", "--journal", journal.name, env=emulator.env(), cwd=tmp_path)
    # Batches 1 and 2: their 20 UUIDs; batches 3 and 4: their 10 persons.
    assert "Event deletions: 0 of 30 persons completed, 20 pending, 10 unknown" in status.stdout
    assert status.returncode == 1


# --- 6. status never calls an unknown person completed ----------------------------------


def test_status_reports_persons_without_a_deletion_record_as_unknown(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = emulator_factory(40)
    emulator.write_distinct_ids(tmp_path / "ids.txt", 30)
    deleted = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--delete-events", "--keep-person", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert deleted.returncode == 0, deleted.stderr
    command = ("status", "--journal", "ids.txt.journal.jsonl")
    here = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert here.returncode == 0, here.stderr
    assert "Event deletions: 30 of 30 persons completed, 0 pending." in here.stdout

    # The same persons on a server without those records (another project, lost records).
    elsewhere = emulator_factory(40)
    other = invoke(*command, "--host", elsewhere.url, env=emulator.env(), cwd=tmp_path)
    assert other.returncode == 1, other.stderr
    assert "Event deletions: 0 of 30 persons completed, 0 pending, 30 unknown" in other.stdout
    assert "30 persons have no deletion record" in other.stderr
    waited = invoke(
        *command, "--host", elsewhere.url, "--wait", "--timeout", "5", "--poll-interval", "0.1",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert waited.returncode == 1, waited.stderr
    assert "30 unknown" in waited.stdout


# --- 9. a key echoed by the server is masked ---------------------------------------------


def test_a_key_echoed_by_the_server_never_reaches_the_terminal_logs_or_journal(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 5)
    echo = {"detail": f"malformed header: Authorization: Bearer {API_KEY}", "attr": API_KEY}
    emulator.fake.override("persons_bulk_delete_create", status=400, json=echo)
    stopped = invoke(
        "-vv", "delete", "--distinct-ids-file", "ids.txt", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert stopped.returncode == 130, stopped.stderr
    assert "malformed header: Authorization: Bearer " in _one_error(stopped.stderr)
    journal = (tmp_path / "ids.txt.journal.jsonl").read_bytes()
    assert b"malformed header: Authorization: Bearer " in journal
    assert_no_key(stopped.stdout, stopped.stderr, journal)

    # -vv logs the traceback of the error that stopped `get`: its chained server error too.
    emulator.fake.override("persons_retrieve", status=400, json=echo)
    got = invoke("-vv", "get", emulator.fake.persons[0]["uuid"], env=emulator.env(), cwd=tmp_path)
    assert got.returncode != 0
    assert "Traceback" in got.stderr and "BadRequestError" in got.stderr
    assert_no_key(got.stdout, got.stderr)


# --- 10. what happened, whether it can resume, and how ------------------------------------


def test_a_damaged_journal_says_which_line_and_how_to_recover(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.write_distinct_ids(tmp_path / "ids.txt", 30)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "10", "--yes")
    assert invoke(*command, env=emulator.env(), cwd=tmp_path).returncode == 0
    journal = tmp_path / "ids.txt.journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[4] = lines[4][:40]  # cut short, with more lines after it
    journal.write_bytes(b"\n".join(lines))

    for args in (command, ("status", "--journal", "ids.txt.journal.jsonl")):
        result = invoke(*args, env=emulator.env(), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        line = _one_error(result.stderr)
        assert "line 5 is not JSON: the journal is damaged" in line
        assert "cannot resume from it as it is" in line
        assert f"sed -n 5p {journal.name}" in line and "--journal NEW_PATH" in line


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_journal_deleted_or_replaced_mid_run_stops_and_is_saved_to_resume(
    emulator: Emulator, tmp_path: Path, how: str
) -> None:
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt", 50)
    journal = tmp_path / "ids.txt.journal.jsonl"
    deletes = [0]

    def vandalise(answer: object) -> object:
        # While the server handles batch 2, someone removes the journal (or puts another
        # file in its place).
        deletes[0] += 1
        if deletes[0] == 2:
            journal.unlink()
            if how == "replaced":
                journal.write_text("someone else's file\n")
        return answer

    emulator.fake.transform("persons_bulk_delete_create", vandalise)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "10", "--yes")
    stopped = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert stopped.returncode == 130, stopped.stderr
    line = _one_error(stopped.stderr)
    assert f"the journal {journal.name} was {how} while the job ran" in line
    assert "The job stopped at batch 3 of 5: 20 of 50 ids are done" in line
    if how == "deleted":
        saved = journal
        assert f"What it recorded was written back to {journal.name}: run the same command" in line
        resume = command
    else:
        saved = journal.with_name(journal.name + ".recovered")
        assert journal.read_text() == "someone else's file\n", "the newcomer is left alone"
        assert f"resume with the same command and --journal {saved.name}" in line
        resume = (*command, "--journal", saved.name)
    records = journal_records(saved)
    assert [r["batch"] for r in records if r["type"] == "result"] == [0, 1]
    assert records[-1]["type"] == "result", "no intent for the batch that was never sent"

    emulator.fake.clear_overrides()
    resumed = invoke(*resume, env=emulator.env(), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert emulator.sent_counts() == Counter(ids), "each id sent exactly once"
    assert re.search(r"persons deleted\s+50\n", resumed.stdout)


_FULL_DISK = (
    "import resource\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
)  # fmt: skip


def test_a_full_disk_mid_run_stops_resumably_and_the_journal_stays_whole(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A process limit on file size (EFBIG, like ENOSPC or EDQUOT) lets writes fail mid-job."""
    ids = emulator.write_distinct_ids(tmp_path / "ids.txt", 100)
    command = ("delete", "--distinct-ids-file", "ids.txt", "--batch-size", "10", "--yes")
    stopped = run_cli(
        *command, env=emulator.env(), cwd=tmp_path, prelude=_FULL_DISK.format(limit=4000)
    )

    assert stopped.returncode == 130, stopped.stderr
    line = _one_error(stopped.stderr)
    assert "the journal ids.txt.journal.jsonl cannot be written: File too large" in line
    assert "nothing was sent that the journal does not record" in line
    assert "then run the same command again to resume" in line
    journal = tmp_path / "ids.txt.journal.jsonl"
    assert journal.read_bytes().endswith(b"\n"), "a failed write is cut off again"
    done = sum(r["type"] == "result" for r in journal_records(journal))
    assert 0 < done < 10

    resumed = invoke(*command, env=emulator.env(), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len(emulator.fake.persons) == 200
    sent = emulator.sent_counts()
    assert set(sent) == set(ids) and max(sent.values()) <= 2
