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
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from .exits import CLIError, Exit

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one run at a time
    fcntl = None  # type: ignore[assignment]

FORMAT = "posthog-persons-journal/1"
BATCH_MAX = 1000


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

    @property
    def resolves_uuids(self) -> bool:
        """Whether each batch of distinct ids is resolved to person UUIDs before it is sent.

        Event and recording deletions are tracked by person UUID, and a delete by distinct id
        never says which persons it hit: resolving first (and deleting by those UUIDs) is the
        only way to know them. A batch of UUIDs needs no lookup: its ids are the UUIDs.
        """
        return self.kind == "distinct_ids" and (self.delete_events or self.delete_recordings)

    def tracked(self, intent: Intent) -> list[str]:
        """The person UUIDs whose event deletions this batch queues, to poll in `status`."""
        if not self.delete_events:
            return []
        if self.kind == "ids":
            return intent.ids
        return intent.person_uuids or []

    def batch_range(self, batch: int) -> tuple[int, int]:
        start = batch * self.batch_size
        return start, min(start + self.batch_size, self.total)

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
            "scope": "project/environment scope",
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
    at: float | None


@dataclass(frozen=True)
class BatchResult:
    batch: int
    persons_found: int
    persons_deleted: int
    errors: list[str]
    # Ids of a re-sent batch that were already gone before the re-send, i.e. (almost surely)
    # deleted by the request whose answer the interrupted run never saw.
    already_gone: int
    resent: bool


@dataclass
class JournalState:
    """What a journal says has happened."""

    spec: JobSpec
    results: dict[int, BatchResult] = field(default_factory=dict)
    in_flight: Intent | None = None
    tracked_uuids: list[str] = field(default_factory=list)
    # Send times of the intents, for pacing-aware ETAs across restarts.
    sent_at: list[float] = field(default_factory=list)
    runs: int = 0
    created_at: str = ""

    @property
    def confirmed(self) -> int:
        return len(self.results)

    @property
    def next_batch(self) -> int:
        return self.confirmed + (1 if self.in_flight is not None else 0)

    @property
    def complete(self) -> bool:
        return self.confirmed >= self.spec.batches and self.in_flight is None

    @property
    def ids_done(self) -> int:
        return sum(self.spec.batch_range(k)[1] - self.spec.batch_range(k)[0] for k in self.results)

    def totals(self) -> dict[str, int]:
        found = sum(r.persons_found + r.already_gone for r in self.results.values())
        deleted = sum(r.persons_deleted + r.already_gone for r in self.results.values())
        return {
            "found": found,
            "deleted": deleted,
            "already_gone": sum(r.already_gone for r in self.results.values()),
            "errors": sum(len(r.errors) for r in self.results.values()),
            "resent": sum(1 for r in self.results.values() if r.resent),
        }

    def all_tracked(self) -> list[str]:
        """Tracked UUIDs, including the in-flight batch's (its request may have landed)."""
        extra = self.spec.tracked(self.in_flight) if self.in_flight is not None else []
        return [*self.tracked_uuids, *extra]

    def errors(self) -> list[str]:
        return [uuid for k in sorted(self.results) for uuid in self.results[k].errors]


class JournalError(CLIError):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"journal {path}: {message}", Exit.USAGE)


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The complete lines of a journal; a truncated last line (a kill mid-write) is skipped."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return
            try:
                record = json.loads(raw)
            except ValueError:
                raise JournalError(
                    path, f"line {number} is not JSON; the file is damaged"
                ) from None
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                raise JournalError(path, f"line {number} is not a journal record")
            yield number, record


def load(path: Path) -> JournalState:
    """Replay a journal, holding only the in-flight batch's ids in memory."""
    state: JournalState | None = None
    for number, record in _records(path):
        kind = record["type"]
        if state is None:
            if kind != "job" or record.get("format") != FORMAT:
                raise JournalError(path, f"not a posthog-persons journal ({FORMAT})")
            try:
                state = JournalState(spec=JobSpec.from_json(record["spec"]))
            except (ValueError, TypeError, KeyError) as error:
                raise JournalError(path, f"bad job line: {error}") from None
            state.created_at = str(record.get("at", ""))
            continue
        try:
            _apply(state, kind, record)
        except (ValueError, TypeError, KeyError) as error:
            raise JournalError(path, f"line {number}: {error}") from None
    if state is None:
        raise JournalError(path, "empty; delete it to start the job afresh")
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
        state.in_flight = Intent(
            batch=batch,
            attempt=int(record.get("attempt", 1)),
            ids=[str(i) for i in record["ids"]],
            person_uuids=[str(u) for u in uuids] if isinstance(uuids, list) else None,
            at=at,
        )
    elif kind == "result":
        batch = int(record["batch"])
        intent = state.in_flight
        if intent is None or intent.batch != batch:
            raise ValueError(f"result for batch {batch} without its intent")
        state.results[batch] = BatchResult(
            batch=batch,
            persons_found=int(record.get("persons_found", 0)),
            persons_deleted=int(record.get("persons_deleted", 0)),
            errors=[str(e) for e in record.get("errors", [])],
            already_gone=int(record.get("already_gone", 0)),
            resent=bool(record.get("resent", intent.attempt > 1)),
        )
        state.tracked_uuids.extend(state.spec.tracked(intent))
        state.in_flight = None
    elif kind == "run":
        state.runs += 1


class JournalWriter:
    """Appends records, each durable before `append` returns; holds a lock while open."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def create(cls, path: Path, spec: JobSpec, *, tool: str) -> JournalWriter:
        try:
            handle = path.open("xb", buffering=0)
        except FileExistsError:
            raise JournalError(path, "appeared while starting; is another run going?") from None
        except OSError as error:
            raise CLIError(
                f"cannot create the journal {path}: {error.strerror}; pass --journal PATH",
                Exit.USAGE,
            ) from None
        writer = cls(path, handle)
        writer._lock()
        writer.append({"type": "job", "format": FORMAT, "tool": tool, "spec": asdict(spec)})
        _fsync_dir(path.parent)
        return writer

    @classmethod
    def reopen(cls, path: Path) -> JournalWriter:
        try:
            handle = path.open("r+b", buffering=0)
        except OSError as error:
            raise CLIError(f"cannot open the journal {path}: {error.strerror}") from None
        writer = cls(path, handle)
        writer._lock()
        writer._drop_partial_tail()
        return writer

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise JournalError(
                self.path, "in use by another posthog-persons process; wait for it to end"
            ) from None

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

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps({**record, "at": now_iso()}, separators=(",", ":"), ensure_ascii=False)
        data = (line + "\n").encode("utf-8", "surrogatepass")
        view = memoryview(data)
        while view:
            written = self._handle.write(view)
            view = view[written or 0 :]
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def discard_if_unstarted(path: Path) -> bool:
    """Remove a journal whose first line (the job line) was never completed; say if it was.

    Such a file is what a kill between creating the journal and writing its first line
    leaves: no intent was recorded, so nothing was sent, and the job starts afresh. A run that
    is creating it right now holds its lock: then it is left alone and this run is refused.
    """
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            if b"\n" in chunk:
                return False
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalError(
                    path, "in use by another posthog-persons process; wait for it to end"
                ) from None
        path.unlink()
    return True


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
