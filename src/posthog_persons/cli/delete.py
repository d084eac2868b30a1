"""`posthog-persons delete`: a resumable erasure job driven by its journal.

The client does the job (`PersonsClient.bulk_delete`: batching, validation, looking each
batch's ids up to find the persons to track, sending); the CLI records it through the client's
hooks, so the journal holds exactly what the client does: `before_batch` writes a batch's
intent (its ids, the persons they name) before it is sent, `on_progress` its confirmed result
after. A batch is confirmed exactly when its result line is on disk.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posthog_persons.batching import BULK_DELETE_BATCH, LOOKUP_BATCH, chunks
from posthog_persons.errors import PostHogError
from posthog_persons.pacing import DEFAULT_RATE_LIMITS, paced_seconds

from .config import Target, client_from_args, redact, target_of
from .confirm import confirm
from .exits import CLIError, Exit
from .failures import describe
from .inputs import IdFile, IdKind, input_of, load_ids
from .interrupts import GracefulStop
from .journal import (
    Existing,
    JobSpec,
    JournalLost,
    JournalState,
    JournalWriter,
    check_path,
    default_path,
    discard_torn,
    load,
)
from .locks import job_lock
from .lookup import find_persons
from .progress import Progress

if TYPE_CHECKING:
    from posthog_persons import BulkDeleteBatch, BulkDeleteProgress, PersonsClient

_SHOWN_ERRORS = 5


def _tool() -> str:
    try:
        from importlib.metadata import version

        return f"posthog-persons {version('posthog-persons')}"
    except Exception:  # pragma: no cover - not installed (running from a source tree)
        return "posthog-persons"


def _flags_text(spec: JobSpec) -> str:
    extras = []
    if spec.delete_events:
        extras.append("their events")
    if spec.delete_recordings:
        extras.append("their recordings")
    text = " and queue deletion of " + " and ".join(extras) if extras else ""
    if spec.keep_person:
        text += " (keeping the persons themselves: --keep-person)"
    return text


def run(args: argparse.Namespace) -> Exit:
    kind, path = input_of(args)
    if not 1 <= args.batch_size <= BULK_DELETE_BATCH:
        raise CLIError(f"--batch-size must be between 1 and {BULK_DELETE_BATCH}")
    if args.keep_person and not (args.delete_events or args.delete_recordings):
        # Checked here, not by the first request: a job that can never succeed must not
        # leave a journal behind that asks to be resumed.
        raise CLIError(
            "--keep-person deletes nothing on its own: add --delete-events and/or "
            "--delete-recordings, or drop --keep-person to delete the persons"
        )
    if path == "-" and args.journal is None and not args.dry_run:
        raise CLIError("reading ids from standard input needs --journal PATH to record the job")
    journal_path = Path(args.journal) if args.journal is not None else default_path(path)
    if not args.dry_run:
        # Before the input is read or anything is sent: a path that is not this tool's
        # journal (a document, /dev/null, a FIFO, a directory) is refused as it is.
        check_path(journal_path)
    with client_from_args(args) as client:
        return _run(args, client, kind, path, journal_path)


def _run(
    args: argparse.Namespace, client: PersonsClient, kind: IdKind, path: str, journal_path: Path
) -> Exit:
    target = target_of(client)
    id_file = load_ids(path, kind=kind, column=args.column, strip_whitespace=args.strip_whitespace)
    for line in id_file.describe():
        print(line, file=sys.stderr)
    if not id_file.ids:
        raise CLIError(f"no valid {kind.noun} in {id_file.source}: nothing to delete")
    spec = JobSpec(
        kind=kind.value,
        input=id_file.source,
        input_sha256=id_file.sha256,
        ids_sha256=id_file.ids_sha256(),
        column=args.column,
        total=len(id_file.ids),
        batch_size=args.batch_size,
        delete_events=args.delete_events,
        delete_recordings=args.delete_recordings,
        keep_person=args.keep_person,
        host=target.host,
        scope=target.scope,
        project_id=target.project_id,
    )
    if args.dry_run:
        return dry_run(client, spec, id_file, target)
    with contextlib.ExitStack() as held:
        if not args.force:
            held.enter_context(job_lock(spec, journal=journal_path))
        state = _existing(journal_path, spec)
        if state is not None and state.complete:
            print(f"The job in {journal_path} is already complete; nothing to do.", file=sys.stderr)
            return report(state, journal_path, target)
        try:
            find_persons(client, kind, id_file.ids[:1])
        except PostHogError as error:
            message, code = describe(error, where="checking access before deleting")
            if code is Exit.USAGE:
                raise CLIError(message, code) from error
            # The server or the network, after the retries: nothing was deleted, try later.
            raise CLIError(
                f"{message}. Nothing was deleted; run the same command again later",
                Exit.INTERRUPTED,
            ) from error
        if not args.yes:
            confirm(_summary(spec, target, state), ids_on_stdin=path == "-")
        if state is None:
            writer = JournalWriter.create(journal_path, spec, tool=_tool())
        else:
            writer = JournalWriter.reopen(journal_path)
        with writer:
            # Re-read under the lock: the file is the truth, not what was read before asking.
            state = load(journal_path)
            if state.spec.differences(spec):
                raise CLIError(f"{journal_path} changed while starting; run again")
            job = DeleteJob(client, spec, id_file.ids, writer, state)
            try:
                final = job.run()
            except KeyboardInterrupt:
                print("Interrupted.", file=sys.stderr)
            except JobStopped as stopped:
                print(f"posthog-persons: error: {stopped}", file=sys.stderr)
            except JournalLost as lost:
                print(f"posthog-persons: error: {job.lost(lost)}", file=sys.stderr)
                return Exit.INTERRUPTED
            else:
                return report(final, journal_path, target)
        # Not complete (interrupted, or stopped by the server or the network): exit 130.
        return report(load(journal_path), journal_path, target)


def _existing(path: Path, spec: JobSpec) -> JournalState | None:
    # Looked at (again) now that the job lock is held: another run may have ended meanwhile.
    existing = check_path(path)
    if existing is Existing.NOTHING:
        return None
    if existing is Existing.TORN:
        discard_torn(path)
        return None
    state = load(path)
    differences = state.spec.differences(spec)
    if differences:
        raise CLIError(
            f"refusing to resume: the journal {path} records a different job "
            f"({'; '.join(differences)}). Re-run with the original file and flags to resume "
            "it, or pass --journal NEW_PATH to start a new job",
            Exit.USAGE,
        )
    return state


def _summary(spec: JobSpec, target: Target, state: JournalState | None) -> list[str]:
    noun = IdKind(spec.kind).noun
    if state is None:
        return [
            f"About to delete the persons of {spec.total:,} {noun}{_flags_text(spec)}",
            f"in {target.describe()}. This cannot be undone.",
        ]
    done = state.ids_done
    lines = [
        f"Resuming the job in this journal: {done:,} of {spec.total:,} {noun} done, "
        f"{spec.total - done:,} to go{_flags_text(spec)},",
        f"in {target.describe()}. This cannot be undone.",
    ]
    if state.in_flight is not None:
        lines.append(
            f"Batch {state.in_flight.batch + 1} was in flight when the last run stopped; its "
            "answer was lost, so it is sent again."
        )
    return lines


class JobStopped(Exception):
    """The job stopped before the end for a reason a re-run can get past (5xx, network, 429)."""


class DeleteJob:
    """Runs the batches the journal has not confirmed through the client, recording each."""

    def __init__(
        self,
        client: PersonsClient,
        spec: JobSpec,
        ids: list[str],
        writer: JournalWriter,
        state: JournalState,
    ) -> None:
        self.client = client
        self.spec = spec
        self.ids = ids
        self.writer = writer
        self.state = state
        self.sent_at = list(state.sent_at)
        self.done = state.ids_done
        totals = state.totals()
        self.deleted, self.queued = totals["deleted"], totals["queued"]
        # The first batch this run sends: the one in flight when the last run stopped (its
        # answer was lost: sent again, as the next attempt), else the next one.
        self.first = state.confirmed
        self.first_attempt = state.in_flight.attempt + 1 if state.in_flight is not None else 1
        # The batch about to be sent, or whose answer is awaited: where a stop leaves the job.
        self.current = self.first
        self.attempt = self.first_attempt
        # Whether the client resolves each batch with lookups (it says so in before_batch).
        self.resolving = False
        self.stop = GracefulStop()
        self.progress = Progress(
            sys.stderr,
            total=spec.total,
            unit="ids",
            label="delete",
            start=self.done,
            eta=self._eta,
            detail=lambda: f"{self.deleted:,} deleted, {self.queued:,} queued",
        )

    def _eta(self, remaining_ids: int) -> float:
        batches = math.ceil(remaining_ids / self.spec.batch_size)
        now = time.time()
        seconds = paced_seconds(batches, DEFAULT_RATE_LIMITS.deletes, self.sent_at, now)
        if self.resolving:
            reads = batches * math.ceil(self.spec.batch_size / LOOKUP_BATCH)
            seconds = max(seconds, paced_seconds(reads, DEFAULT_RATE_LIMITS.reads, [], now))
        return seconds

    def run(self) -> JournalState:
        """Run the job to its end; the journal's final state (before its "done" note)."""
        self.writer.append({"type": "run", "tool": _tool(), "ids_done": self.done})
        start = self.spec.batch_range(self.first)[0]
        try:
            with self.stop:
                self.client.bulk_delete(
                    **{self.spec.kind: self.ids[start:]},
                    delete_events=self.spec.delete_events,
                    delete_recordings=self.spec.delete_recordings,
                    keep_person=self.spec.keep_person,
                    batch_size=self.spec.batch_size,
                    before_batch=self._before_batch,
                    on_progress=self._after_batch,
                )
        except KeyboardInterrupt:
            self.progress.close()
            self._note({"type": "interrupted", "ids_done": self.done})
            raise
        except JournalLost:
            self.progress.close()
            raise
        except PostHogError as error:
            self.progress.close()
            message, code = describe(error)
            self._note({"type": "failure", "batch": self.current, "error": message})
            if code is not Exit.USAGE:
                # Retries exhausted on a server error, the network, rate limits or an answer
                # without the documented shape: the job is not finished, and the journal
                # resumes it once the server is back.
                raise JobStopped(message) from error
            raise CLIError(
                f"{message}. {self.done:,} of {self.spec.total:,} ids are done; the journal "
                f"{self.writer.path} has the rest: re-run the same command to resume",
                code,
            ) from error
        self.progress.update(self.done, force=True)
        self.progress.close()
        final = load(self.writer.path)
        self._note({"type": "done", **final.totals()})
        return final

    def _note(self, record: dict[str, Any]) -> None:
        """A record for people reading the journal; the job does not depend on it."""
        with contextlib.suppress(JournalLost):
            self.writer.append(record)

    def _before_batch(self, batch: BulkDeleteBatch) -> None:
        """The client is about to send `batch`: stop here if asked to, else record it."""
        if self.stop.requested:
            raise KeyboardInterrupt  # before the intent: this batch is not sent
        index = self.first + batch.number - 1
        start, end = self.spec.batch_range(index)
        if list(batch.ids) != self.ids[start:end]:
            # The journal's batches are the input cut every --batch-size ids; a client that
            # cut them otherwise would make the journal lie about what was sent.
            raise RuntimeError(f"batch {index + 1} is not ids {start + 1} to {end} of the input")
        self.current = index
        self.attempt = self.first_attempt if index == self.first else 1
        record: dict[str, Any] = {
            "type": "intent",
            "batch": index,
            "attempt": self.attempt,
            "ids": list(batch.ids),
        }
        if batch.person_uuids is not None:
            # The persons the client found the batch's ids to name (distinct ids or UUIDs:
            # ids matching nobody have none), whose deletions `status` follows.
            self.resolving = True
            record["person_uuids"] = list(batch.person_uuids)
        # Nothing is sent unless its intent is on disk under the journal's name.
        self.writer.ensure_in_place()
        self.writer.append(record)
        try:
            self.writer.ensure_in_place()
        except JournalLost:
            self.writer.retract_last()  # not sent: the saved journal must not say it was
            raise
        self.sent_at.append(time.time())

    def _after_batch(self, progress: BulkDeleteProgress) -> None:
        """The server confirmed a batch: record what it confirmed."""
        result = progress.batch
        assert result is not None, "the client reports each batch's own outcome"
        index = self.first + result.number - 1
        self.writer.append(
            {
                "type": "result",
                "batch": index,
                "attempt": self.attempt,
                "persons_found": result.persons_found,
                "persons_deleted": result.persons_deleted,
                "persons_queued": result.persons_queued,
                # From the server: masked like any text it sends, should it echo the key.
                "errors": [redact(uuid) for uuid in result.deletion_errors],
                "resent": self.attempt > 1,
            }
        )
        self.done += self.spec.batch_len(index)
        self.deleted += result.persons_deleted
        self.queued += result.persons_queued
        self.current = index + 1
        self.progress.update(self.done)

    def lost(self, lost: JournalLost) -> str:
        """What a JournalLost did to the job, whether it can resume, and how."""
        done = f"{self.done:,} of {self.spec.total:,} ids are done"
        stop = f"The job stopped at batch {self.current + 1} of {self.spec.batches}"
        if lost.recoverable:
            return (
                f"the journal {lost.path} {lost.problem}. {stop}: {done}, and nothing was "
                "sent that the journal does not record. Free some space (or fix the file "
                "system), then run the same command again to resume"
            )
        saved = self.writer.save_copy()
        if saved == lost.path:
            how = f"What it recorded was written back to {saved}: run the same command again"
        elif saved is not None:
            how = (
                f"What it recorded was saved as {saved}: resume with the same command and "
                f"--journal {saved}"
            )
        else:
            how = (
                "What it recorded could not be saved: the same command starts the job afresh "
                "(ids already deleted are simply not found), but this run's counts are lost"
            )
        return f"the journal {lost.path} {lost.problem}. {stop}: {done}. {how} to resume"


def report(state: JournalState, path: Path, target: Target) -> Exit:
    """The final (or interim) account of a job, from its journal; returns the exit code."""
    spec = state.spec
    totals = state.totals()
    noun = IdKind(spec.kind).noun
    out = sys.stdout
    status = "complete" if state.complete else "stopped before the end"
    print(f"Delete job {status}: {target.describe()}", file=out)
    resent = f"; {totals['resent']} re-sent after an interruption" if totals["resent"] else ""
    print(
        f"  {noun + ' processed':<24}{state.ids_done:,} of {spec.total:,} "
        f"({state.confirmed:,} of {spec.batches:,} batches{resent})",
        file=out,
    )
    print(f"  {'persons found':<24}{totals['found']:,}", file=out)
    kept = " (--keep-person)" if spec.keep_person else ""
    print(f"  {'persons deleted':<24}{totals['deleted']:,}{kept}", file=out)
    print(
        f"  {'persons queued':<24}{totals['queued']:,} (accepted; the server deletes them shortly)",
        file=out,
    )
    print(f"  {'deletion errors':<24}{totals['errors']:,}", file=out)
    print(f"  {'journal':<24}{path}", file=out)
    resent_batches = state.resent_batches()
    if resent_batches:
        shown = ", ".join(str(k + 1) for k in resent_batches[:_SHOWN_ERRORS])
        more = ", ..." if len(resent_batches) > _SHOWN_ERRORS else ""
        most = sum(spec.batch_len(k) for k in resent_batches)
        print(
            f"Re-sent after an interruption: batch {shown}{more}. The answer to the first "
            "attempt was lost, so the counts above are what the server confirmed for the "
            f"re-send; persons the lost attempt deleted (at most {most:,}) are not in them.",
            file=out,
        )
    if not state.complete:
        print(f"Re-run the same command to resume (journal {path}).", file=out)
        return Exit.INTERRUPTED
    tracked = len(state.all_tracked())
    if spec.delete_events and tracked:
        print(
            f"Event deletion was requested for the {totals['found']:,} persons found, and runs "
            f"asynchronously (it can take days). Follow it with:\n"
            f"  posthog-persons status --journal {path} --wait",
            file=out,
        )
    errors = state.errors()
    if errors:
        shown = ", ".join(errors[:_SHOWN_ERRORS]) + (", ..." if len(errors) > _SHOWN_ERRORS else "")
        print(
            f"{len(errors):,} persons could not be deleted ({shown}); every one is in the "
            'journal\'s result lines ("errors"). Re-running a new job with them may help.',
            file=sys.stderr,
        )
        return Exit.INCOMPLETE
    return Exit.OK


def dry_run(client: PersonsClient, spec: JobSpec, id_file: IdFile, target: Target) -> Exit:
    """Resolve every id with the batch lookups; delete nothing."""
    kind = IdKind(spec.kind)
    matched = 0
    persons: set[str] = set()
    progress = Progress(
        sys.stderr,
        total=len(id_file.ids),
        unit="ids",
        label="dry run",
        eta=lambda left: paced_seconds(
            math.ceil(left / LOOKUP_BATCH), DEFAULT_RATE_LIMITS.reads, [], time.time()
        ),
    )
    done = 0
    try:
        for chunk in chunks(id_file.ids, LOOKUP_BATCH):
            found = find_persons(client, kind, chunk)
            matched += len(found)
            persons.update(person.uuid for person in found.values())
            done += len(chunk)
            progress.update(done)
        progress.update(len(id_file.ids), force=True)
    finally:
        progress.close()
    noun = kind.noun
    print(f"Dry run, nothing deleted: {target.describe()}")
    print(f"  {noun:<24}{len(id_file.ids):,}")
    print(f"  {'matching a person':<24}{matched:,}")
    print(f"  {'matching no person':<24}{len(id_file.ids) - matched:,}")
    print(f"  {'persons to delete':<24}{len(persons):,}{_flags_text(spec)}")
    if id_file.rejected_total:
        print(f"  {'rejected lines':<24}{id_file.rejected_total:,} (not sent; see above)")
    return Exit.OK
