"""The delete job's journal: an append-only, fsync'd JSON Lines file, and resuming from it.

One line per event, each written in one `write` and forced to disk before the next step:

    {"type": "job", "format": ..., "spec": {...}}              first line: what the job is
    {"type": "intent", "batch": k, "attempt": n, "ids": [...]}  before batch k is sent
    {"type": "result", "batch": k, "attempt": n, ...}           after the server answered
    {"type": "failure" | "run" | "interrupted" | "done", ...}   for people reading it

Batches go strictly in order, so a journal always reads as: batches 0..c-1 confirmed, then at
most one intent without a result (killed while its request was in flight: the result is
unknown and that batch is re-sent), then nothing. Whatever instant a SIGKILL lands, the file
is that plus possibly one truncated last line, which is dropped on resume.

The journal never harms another file: a path that exists is used only if it is a regular file
that starts with this tool's job line (`MAGIC`), and a new journal appears under its name
complete and locked (written under a hidden temporary name, then hard-linked into place), so
no run ever sees a half-created one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from .exits import CLIError, Exit

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one run at a time
    fcntl = None  # type: ignore[assignment]

FORMAT = "posthog-persons-journal/1"
# How every journal this tool has written begins (its job line, `json.dumps` of a dict whose
# first keys are these): what makes a file recognisably this tool's, to resume or discard.
MAGIC = b'{"type":"job","format":"posthog-persons-journal/'


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class JobSpec:
    """Everything that makes two runs the same job; all of it must match to resume."""

    kind: str
    input: str
    input_sha256: str
    ids_sha256: str
    column: str | None
    total: int
    batch_size: int
    delete_events: bool
    delete_recordings: bool
    keep_person: bool
    host: str
    scope: str
    project_id: str

    @property
    def batches(self) -> int:
        return -(-self.total // self.batch_size)

    def tracked(self, intent: Intent) -> list[str]:
        """The person UUIDs whose event deletions this batch queues, to poll in `status`:
        the persons the client found the batch's ids (distinct ids or UUIDs) to name."""
        if not self.delete_events:
            return []
        if intent.person_uuids is not None:
            return intent.person_uuids
        # Release 0.1.0 recorded no persons for a batch of UUIDs: which of them matched
        # nobody is not known any more (the persons are gone), so all are followed.
        return intent.ids if self.kind == "ids" else []

    def batch_range(self, batch: int) -> tuple[int, int]:
        start = batch * self.batch_size
        return start, min(start + self.batch_size, self.total)

    def batch_len(self, batch: int) -> int:
        start, end = self.batch_range(batch)
        return end - start

    def differences(self, other: JobSpec) -> list[str]:
        """What differs from `other`, as `what: journal vs now` phrases (the path does not)."""
        names = {
            "kind": "id type",
            "input_sha256": "input file content",
            "ids_sha256": "validated ids",
            "column": "--column",
            "batch_size": "--batch-size",
            "delete_events": "--delete-events",
            "delete_recordings": "--delete-recordings",
            "keep_person": "--keep-person",
            "host": "--host",
            # Not "scope": release 0.1.0 sent an --environment-id to /api/environments/; it is
            # now sent as the project id, which the server routes to the same environment.
            "project_id": "project id",
        }
        out = []
        for name, label in names.items():
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                if name in ("input_sha256", "ids_sha256"):
                    out.append(f"{label}: sha256 {mine[:12]}... in the journal, {theirs[:12]}...")
                else:
                    out.append(f"{label}: {_flag(mine)} in the journal, {_flag(theirs)} now")
        if not out and self.total != other.total:
            out.append(f"number of ids: {self.total} in the journal, {other.total} now")
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        values: dict[str, Any] = {}
        for spec_field in fields(cls):
            if spec_field.name not in data:
                raise ValueError(f"missing {spec_field.name!r}")
            values[spec_field.name] = data[spec_field.name]
        return cls(**values)


def _flag(value: object) -> str:
    if isinstance(value, bool):
        return "set" if value else "not set"
    return "none" if value is None else repr(value)


@dataclass(frozen=True)
class Intent:
    batch: int
    attempt: int
    ids: list[str]
    person_uuids: list[str] | None


@dataclass(frozen=True)
class BatchResult:
    """What the server confirmed for one batch: the answer to the attempt that was recorded."""

    batch: int
    attempt: int
    persons_found: int
    persons_deleted: int
    # Accepted, deleted by the server a little later (`persons_queued_for_deletion`).
    persons_queued: int
    errors: list[str]

    @property
    def resent(self) -> bool:
        """Sent again after a run stopped without its answer: the first answer was lost."""
        return self.attempt > 1


@dataclass
class JournalState:
    """What a journal says has happened."""

    spec: JobSpec
    results: dict[int, BatchResult] = field(default_factory=dict)
    in_flight: Intent | None = None
    tracked_uuids: list[str] = field(default_factory=list)
    # The tracked UUIDs of every attempt at the batch in flight: a re-sent batch of distinct
    # ids resolves to fewer persons (the first attempt may have deleted some), but the event
    # deletions the first attempt queued are still to be followed.
    in_flight_tracked: list[str] = field(default_factory=list)
    # Send times of the intents, for pacing-aware ETAs across restarts.
    sent_at: list[float] = field(default_factory=list)

    @property
    def confirmed(self) -> int:
        return len(self.results)

    @property
    def complete(self) -> bool:
        return self.confirmed >= self.spec.batches and self.in_flight is None

    @property
    def ids_done(self) -> int:
        return sum(self.spec.batch_len(k) for k in self.results)

    def totals(self) -> dict[str, int]:
        """The server's confirmed counts, summed over the batches' recorded answers."""
        results = self.results.values()
        return {
            "found": sum(r.persons_found for r in results),
            "deleted": sum(r.persons_deleted for r in results),
            "queued": sum(r.persons_queued for r in results),
            "errors": sum(len(r.errors) for r in results),
            "resent": sum(1 for r in results if r.resent),
        }

    def resent_batches(self) -> list[int]:
        """The batches (0-based) whose first answer was lost and that were sent again."""
        return [k for k in sorted(self.results) if self.results[k].resent]

    def all_tracked(self) -> list[str]:
        """Tracked UUIDs, including the in-flight batch's (its request may have landed)."""
        return list(dict.fromkeys([*self.tracked_uuids, *self.in_flight_tracked]))

    def errors(self) -> list[str]:
        return [uuid for k in sorted(self.results) for uuid in self.results[k].errors]


class JournalError(CLIError):
    """The journal path or file cannot be used: bad input, exit 2, nothing was touched."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"journal {path}: {message}", Exit.USAGE)


def _damaged(path: Path, number: int, problem: str) -> JournalError:
    return JournalError(
        path,
        f"line {number} {problem}: the journal is damaged, and the job cannot resume from it as "
        f"it is. Look at that line (sed -n {number}p {path}): if an edit or a bad copy caused "
        "it, restore the line and run the same command again. Otherwise move the journal aside "
        "and start over with --journal NEW_PATH: ids already deleted are simply not found again",
    )


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The complete lines of a journal; a truncated last line (a kill mid-write) is skipped."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return
            try:
                record = json.loads(raw)
            except ValueError:
                raise _damaged(path, number, "is not JSON") from None
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                raise _damaged(path, number, "is not a journal record")
            yield number, record


def load(path: Path) -> JournalState:
    """Replay a journal, holding only the in-flight batch's ids in memory."""
    check_path(path, must_exist=True)
    state: JournalState | None = None
    for number, record in _records(path):
        kind = record["type"]
        if state is None:
            if kind != "job" or record.get("format") != FORMAT:
                raise JournalError(path, f"not a posthog-persons journal ({FORMAT})")
            try:
                state = JournalState(spec=JobSpec.from_json(record["spec"]))
            except (ValueError, TypeError, KeyError) as error:
                raise _damaged(path, number, f"(the job line) is unreadable: {error}") from None
            continue
        try:
            _apply(state, kind, record)
        except (ValueError, TypeError, KeyError) as error:
            raise _damaged(path, number, f"does not fit the job ({error})") from None
    if state is None:
        raise JournalError(path, f"not a posthog-persons journal ({FORMAT})")
    return state


def _apply(state: JournalState, kind: str, record: dict[str, Any]) -> None:
    if kind == "intent":
        batch = int(record["batch"])
        if batch != state.confirmed:
            # Batches are confirmed in order; an intent for any other batch means the file
            # was edited or two runs interleaved.
            raise ValueError(f"intent for batch {batch} while batch {state.confirmed} is next")
        uuids = record.get("person_uuids")
        at = parse_iso(str(record.get("at", "")))
        if at is not None:
            state.sent_at.append(at)
        if state.in_flight is None:
            state.in_flight_tracked = []
        state.in_flight = Intent(
            batch=batch,
            attempt=int(record.get("attempt", 1)),
            ids=[str(i) for i in record["ids"]],
            person_uuids=[str(u) for u in uuids] if isinstance(uuids, list) else None,
        )
        state.in_flight_tracked.extend(state.spec.tracked(state.in_flight))
    elif kind == "result":
        batch = int(record["batch"])
        intent = state.in_flight
        if intent is None or intent.batch != batch:
            raise ValueError(f"result for batch {batch} without its intent")
        # Journals of release 0.1.0 can hold a re-sent batch recorded without a request, its
        # ids counted as "already_gone"; the server never confirmed those, so they do not count.
        state.results[batch] = BatchResult(
            batch=batch,
            attempt=int(record.get("attempt", intent.attempt)),
            persons_found=int(record.get("persons_found", 0)),
            persons_deleted=int(record.get("persons_deleted", 0)),
            persons_queued=int(record.get("persons_queued", 0)),
            errors=[str(e) for e in record.get("errors", [])],
        )
        state.tracked_uuids.extend(dict.fromkeys(state.in_flight_tracked))
        state.in_flight = None
        state.in_flight_tracked = []


class Existing(Enum):
    """What a journal path names."""

    NOTHING = "nothing"  # a new journal is created there
    JOURNAL = "journal"  # a journal of this tool: resumed
    # This tool's job line cut short (a crash while an older release created the journal):
    # nothing was sent, and it is discarded.
    TORN = "torn"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_path(path: Path, *, must_exist: bool = False) -> Existing:
    """What `path` names, refusing (exit 2) anything but nothing, or this tool's journal.

    Never blocks and never changes anything: the kind of file is checked before it is
    opened (a FIFO, a device such as /dev/null or /dev/zero, a directory are refused), and
    opened without blocking, then checked again, should it have been swapped in between.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise JournalError(path, "is a symbolic link to nothing; pass --journal PATH") from None
        if must_exist:
            raise JournalError(path, "not found") from None
        return Existing.NOTHING
    except OSError as error:
        raise JournalError(path, f"cannot be used: {error.strerror}") from None
    _refuse_unless_regular(path, before.st_mode)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise JournalError(path, f"cannot be read: {error.strerror}") from None
    try:
        _refuse_unless_regular(path, os.fstat(fd).st_mode)
        head = os.read(fd, len(MAGIC))
        if not head:
            raise JournalError(
                path,
                "exists and is empty, so it is not a journal of this tool and is left alone. "
                "(An older release stopped while creating its journal can leave an empty file: "
                "if no run is using it, delete it and run again.) Or pass --journal NEW_PATH",
            )
        if head != MAGIC:
            raise JournalError(
                path,
                "exists and is not a posthog-persons journal: refusing to use or replace it. "
                "Pass --journal with a new path (or the path of this job's journal)",
            )
        while chunk := os.read(fd, 1 << 16):
            if b"\n" in chunk:
                return Existing.JOURNAL
        return Existing.TORN
    finally:
        os.close(fd)


def _refuse_unless_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise JournalError(
            path,
            f"is {_kind_of(mode)}, not a journal file: pass --journal with the path of a "
            "regular file (a new one, or this job's journal)",
        )


def discard_torn(path: Path) -> None:
    """Remove a journal whose job line was never completed (`Existing.TORN`).

    Only after taking its lock (a run creating it right now holds it: this run is refused
    then) and checking again, under the lock, that it is still that file and still torn.
    """
    try:
        handle = path.open("r+b", buffering=0)
    except OSError as error:
        raise JournalError(path, f"cannot be opened: {error.strerror}") from None
    with handle:
        info = os.fstat(handle.fileno())
        _refuse_unless_regular(path, info.st_mode)
        _lock(path, handle)
        data = handle.read()
        if not data.startswith(MAGIC) or b"\n" in data:
            raise JournalError(path, "changed while starting; run again")
        current = os.stat(path)
        if (current.st_dev, current.st_ino) != (info.st_dev, info.st_ino):
            raise JournalError(path, "changed while starting; run again")
        path.unlink()


def _lock(path: Path, handle: BinaryIO) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise JournalError(
            path, "in use by another posthog-persons process; wait for it to end"
        ) from None


class JournalLost(Exception):
    """The journal can no longer record the job: writing failed, or its path was deleted or
    replaced. The job must stop before sending anything the journal would not record."""

    def __init__(self, path: Path, problem: str, *, recoverable: bool) -> None:
        super().__init__(f"journal {path}: {problem}")
        self.path = path
        self.problem = problem
        # Whether what the journal held is still on disk under `path`.
        self.recoverable = recoverable


# File systems without hard links (FAT, some network shares) answer link() with these.
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}
)


def _create_complete(path: Path, data: bytes) -> BinaryIO:
    """A new file at `path` holding `data`, locked; FileExistsError if `path` exists.

    Written and locked under a hidden name first, then hard-linked into place: another run
    sees no file or a complete, locked one, never an empty or half-written file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    handle = temporary.open("x+b", buffering=0)
    try:
        _lock(temporary, handle)
        _write_all(handle, data)
        try:
            os.link(temporary, path)
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            handle.close()
            return _create_in_place(path, data)
        return handle
    except BaseException:
        handle.close()
        raise
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _create_in_place(path: Path, data: bytes) -> BinaryIO:
    # Without hard links: created under its own name, so a crash before the write leaves an
    # empty file, which a later run refuses (and never deletes) rather than mistakes for a job.
    handle = path.open("x+b", buffering=0)
    try:
        _lock(path, handle)
        _write_all(handle, data)
    except BaseException:
        handle.close()
        raise
    return handle


def _write_all(handle: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = handle.write(view)
        view = view[written or 0 :]
    os.fsync(handle.fileno())


class JournalWriter:
    """Appends records, each durable before `append` returns; holds a lock while open."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self._handle = handle
        info = os.fstat(handle.fileno())
        self._identity = (info.st_dev, info.st_ino)
        self._last_start = info.st_size

    @classmethod
    def create(cls, path: Path, spec: JobSpec, *, tool: str) -> JournalWriter:
        line = _line({"type": "job", "format": FORMAT, "tool": tool, "spec": asdict(spec)})
        try:
            handle = _create_complete(path, line)
        except FileExistsError:
            raise JournalError(path, "appeared while starting; is another run going?") from None
        except OSError as error:
            raise CLIError(
                f"cannot create the journal {path}: {error.strerror}; pass --journal PATH",
                Exit.USAGE,
            ) from None
        _fsync_dir(path.parent)
        return cls(path, handle)

    @classmethod
    def reopen(cls, path: Path) -> JournalWriter:
        try:
            handle = path.open("r+b", buffering=0)
        except OSError as error:
            raise CLIError(f"cannot open the journal {path}: {error.strerror}") from None
        _lock(path, handle)
        writer = cls(path, handle)
        writer._drop_partial_tail()
        return writer

    def _drop_partial_tail(self) -> None:
        # A kill during a write leaves half a line; appending after it would glue the next
        # record onto it and damage both.
        size = self._handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        position = size
        while position > 0:
            step = min(65536, position)
            self._handle.seek(position - step)
            chunk = self._handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline != -1:
                keep = position - step + newline + 1
                break
            position -= step
        else:
            keep = 0
        if keep != size:
            self._handle.truncate(keep)
            os.fsync(self._handle.fileno())
        self._handle.seek(0, os.SEEK_END)

    def ensure_in_place(self) -> None:
        """Raise JournalLost unless the path still names this journal (not deleted, moved or
        replaced): records written to a file nobody can find would resume nothing."""
        try:
            info = os.stat(self.path)
        except OSError:
            raise JournalLost(
                self.path, "was deleted while the job ran", recoverable=False
            ) from None
        if (info.st_dev, info.st_ino) != self._identity:
            raise JournalLost(self.path, "was replaced while the job ran", recoverable=False)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record and force it to disk; JournalLost if that fails (disk full...).

        A failed write is cut off again, so the journal still ends on a complete line.
        """
        self._last_start = self._handle.seek(0, os.SEEK_END)
        try:
            _write_all(self._handle, _line(record))
        except OSError as error:
            self.retract_last()
            raise JournalLost(
                self.path, f"cannot be written: {error.strerror or error}", recoverable=True
            ) from error

    def retract_last(self) -> None:
        """Cut off the last record (or what a failed write left of it): for a record of
        something that did not happen after all (an intent whose batch was not sent)."""
        with contextlib.suppress(OSError):
            self._handle.truncate(self._last_start)
            os.fsync(self._handle.fileno())

    def save_copy(self) -> Path | None:
        """Write what this journal holds to its path (or PATH.recovered, if that is taken),
        as a new file; the path written, or None if neither could be written."""
        self._handle.seek(0)
        data = self._handle.read()
        for candidate in (self.path, self.path.with_name(self.path.name + ".recovered")):
            try:
                _create_complete(candidate, data).close()
            except FileExistsError:
                continue
            except OSError:
                return None
            _fsync_dir(candidate.parent)
            return candidate
        return None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _line(record: Mapping[str, Any]) -> bytes:
    line = json.dumps({**record, "at": now_iso()}, separators=(",", ":"), ensure_ascii=False)
    return (line + "\n").encode("utf-8", "surrogatepass")


def _fsync_dir(directory: Path) -> None:
    # The new file's directory entry must survive a crash too, or the journal may vanish.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def default_path(input_path: str) -> Path:
    return Path(f"{input_path}.journal.jsonl")
