"""THE batching rule: at most 1000 ids per bulk delete call, 200 per batch lookup.

The server rejects a bulk delete of more than 1000 ids, and the batch lookups silently ignore
every id past the 200th, so these sizes are limits, not tuning knobs.

A bulk delete streams its input: `IdStream` validates, deduplicates (a set of the ids seen: about
100 bytes per id, 100 MB for a million) and cuts it into batches. A collection (list, tuple,
set...) is validated whole before the first request; an iterator or generator, which cannot be
seen to its end, is validated batch by batch, each batch fully before it is sent, so a bad id
stops the job before its batch with nothing lost. `BulkDeleteJob` adds up the batch summaries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, Literal, TypeVar

import attrs

from . import _validation as check
from ._convert import Summary
from .errors import BulkDeleteError, BulkDeleteInputError, InvalidInputError, PostHogError
from .models import BulkDeleteBatch, BulkDeleteBatchResult, BulkDeleteProgress, BulkDeleteResult

__all__ = ["BULK_DELETE_BATCH", "LOOKUP_BATCH", "BulkDeleteJob", "IdStream", "chunks"]

#: The server's limit per bulk_delete list (`bulk_delete` in posthog/api/person.py answers
#: 400 above it; ../shared/posthog-persons-api.md, "Bulk delete").
BULK_DELETE_BATCH = 1000
#: The batch lookups read only the first 200 ids and silently ignore the rest
#: (`batch_by_distinct_ids` / `batch_by_uuids` in posthog/api/person.py; the notes, "Batch
#: lookups").
LOOKUP_BATCH = 200

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _BadId(Exception):
    def __init__(self, error: InvalidInputError, taken: list[str]) -> None:
        super().__init__(str(error))
        self.error, self.taken = error, taken


class IdStream:
    """The validated, deduplicated ids of one job, taken batch by batch."""

    def __init__(self, values: object, name: str, validate: Callable[[object], str]) -> None:
        values = check.iterable(values, name)
        self._validate = validate
        self._seen: set[str] = set()
        self._ready: list[str] = []
        self._position = 0
        self._rest: Iterator[object] | None = None
        if isinstance(values, Collection):
            self._ready = check.unique(values, name, validate)
        else:
            self._rest = iter(values)

    def take(self, size: int) -> list[str]:
        """The next batch (empty at the end); raises _BadId on an invalid id from an iterator."""
        if self._rest is None:
            batch = self._ready[self._position : self._position + size]
            self._position += len(batch)
            return batch
        batch = []
        while len(batch) < size:
            try:
                value = next(self._rest)
            except StopIteration:
                break
            try:
                item = self._validate(value)
            except InvalidInputError as error:
                raise _BadId(error, batch) from None
            if item not in self._seen:
                self._seen.add(item)
                batch.append(item)
        return batch

    def after(self, unsent: list[str]) -> tuple[list[str], Iterator[Any] | None]:
        """What is left if the ids taken last (`unsent`) were not sent: (remaining ids,
        unconsumed iterator)."""
        if self._rest is None:
            return unsent + self._ready[self._position :], None
        return unsent, self._rest


def _tuple(items: list[str] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(items)


def _merge(extra: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        old = extra.get(key)
        if isinstance(value, bool) and isinstance(old, bool):
            extra[key] = old or value
        elif type(value) in (int, float) and type(old) in (int, float):
            extra[key] = old + value
        else:
            extra[key] = value


class BulkDeleteJob:
    """The state of one bulk delete: its input stream and the running totals."""

    def __init__(
        self,
        *,
        ids: object,
        distinct_ids: object,
        delete_events: bool,
        delete_recordings: bool,
        keep_person: bool,
        batch_size: object = BULK_DELETE_BATCH,
    ) -> None:
        if ids is not None and distinct_ids is not None:
            raise InvalidInputError("pass ids= (person UUIDs) or distinct_ids=, not both")
        if ids is None and distinct_ids is None:
            raise InvalidInputError("pass ids= (person UUIDs) or distinct_ids= to bulk_delete")
        if keep_person and not (delete_events or delete_recordings):
            raise InvalidInputError(
                "keep_person=True deletes nothing unless delete_events or delete_recordings is set"
            )
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= BULK_DELETE_BATCH
        ):
            raise InvalidInputError(
                f"batch_size must be an integer from 1 to {BULK_DELETE_BATCH}, got {batch_size!r}"
            )
        self.batch_size = batch_size
        self.field: Literal["ids", "distinct_ids"] = "ids" if ids is not None else "distinct_ids"
        validate = check.validate_uuid if ids is not None else check.validate_distinct_id
        self.stream = IdStream(ids if ids is not None else distinct_ids, self.field, validate)
        self.flags = {
            "delete_events": bool(delete_events),
            "delete_recordings": bool(delete_recordings),
            "keep_person": bool(keep_person),
        }
        # Queued deletions are tracked by person UUID, and the server queues them only for
        # the persons it finds (`bulk_delete` in posthog/api/person.py): each batch is looked
        # up (by distinct id, or by UUID) so that exactly the persons that exist are tracked.
        self.resolve = bool(delete_events or delete_recordings)
        self.lookup_field = "uuids" if self.field == "ids" else "distinct_ids"
        self._totals = BulkDeleteResult()
        self._errors: list[str] = []
        self._uuids: list[str] = []
        # Two distinct ids of one person may fall in two batches: track each UUID once.
        self._resolved: set[str] = set()
        self._extra: dict[str, Any] = {}

    def read_batch(self) -> tuple[list[str], _BadId | None]:
        """The next batch, or ([], the bad id found reading it): reading ahead, the error is
        raised only once the batch in flight is accounted for (`bad_input`)."""
        try:
            return self.stream.take(self.batch_size), None
        except _BadId as bad:
            return [], bad

    def bad_input(self, bad: _BadId) -> BulkDeleteInputError:
        remaining, unconsumed = self.stream.after(bad.taken)
        return BulkDeleteInputError(
            bad.error, result=self.result(), remaining=remaining, unconsumed=unconsumed
        )

    def body(self, batch: list[str]) -> dict[str, Any]:
        return {self.field: batch, **self.flags}

    def plan(self, batch: list[str], resolved: list[str] | None) -> BulkDeleteBatch:
        """The batch as `before_batch` sees it: number, field, exact ids, their persons."""
        return BulkDeleteBatch(
            number=self._totals.batches + 1,
            field=self.field,
            ids=tuple(batch),
            person_uuids=_tuple(resolved),
        )

    def record(
        self, batch: list[str], summary: Summary, resolved: list[str] | None
    ) -> BulkDeleteProgress:
        """Add one confirmed batch to the totals."""
        failed = set(summary.errors)
        if resolved is not None:
            tracked = [u for u in resolved if u not in failed and u not in self._resolved]
            self._resolved.update(tracked)
        elif self.field == "ids":  # not looked up: the UUIDs sent (the stream deduplicates)
            tracked = [u for u in batch if u not in failed]
        else:
            tracked = []
        self._uuids.extend(tracked)
        self._errors.extend(summary.errors)
        _merge(self._extra, summary.extra)
        t = self._totals
        self._totals = BulkDeleteResult(
            requested=t.requested + len(batch),
            persons_found=t.persons_found + summary.persons_found,
            persons_deleted=t.persons_deleted + summary.persons_deleted,
            persons_queued=t.persons_queued + summary.persons_queued,
            batches=t.batches + 1,
            events_queued_for_deletion=t.events_queued_for_deletion or summary.events_queued,
            recordings_queued_for_deletion=(
                t.recordings_queued_for_deletion or summary.recordings_queued
            ),
        )
        t = self._totals
        return BulkDeleteProgress(
            batches_done=t.batches,
            ids_sent=t.requested,
            persons_found=t.persons_found,
            persons_deleted=t.persons_deleted,
            errors=len(self._errors),
            persons_queued=t.persons_queued,
            batch=BulkDeleteBatchResult(
                number=t.batches,
                ids_sent=len(batch),
                persons_found=summary.persons_found,
                persons_deleted=summary.persons_deleted,
                persons_queued=summary.persons_queued,
                deletion_errors=summary.errors,
                person_uuids=tuple(tracked),
                events_queued_for_deletion=summary.events_queued,
                recordings_queued_for_deletion=summary.recordings_queued,
            ),
        )

    def failure(self, cause: PostHogError, unsent: list[str]) -> BulkDeleteError:
        """The error for a job stopped by `cause`; `unsent`: every id taken but not confirmed
        (the failed batch, and the next one when it was read ahead)."""
        remaining, unconsumed = self.stream.after(unsent)
        return BulkDeleteError(
            cause, result=self.result(), remaining=remaining, unconsumed=unconsumed
        )

    def result(self) -> BulkDeleteResult:
        """The totals so far, with the lists (copied: the job goes on)."""
        return attrs.evolve(
            self._totals,
            errors=tuple(self._errors),
            person_uuids=tuple(self._uuids),
            extra=dict(self._extra),
        )
