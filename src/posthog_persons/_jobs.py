"""The jobs of PersonsClient and AsyncPersonsClient, each written once as a sans-IO flow.

Every public function here validates its arguments at once (raising InvalidInputError before
any request) and returns a flow (see `_sansio`) that the sync or async client drives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _convert
from . import _validation as check
from ._config import Origin
from ._sansio import Call, Emit, Job, Sleep, Stream
from .batching import LOOKUP_BATCH, BulkDeleteJob, chunks
from .errors import APIConnectionError, PostHogError, RateLimitError, ServerError
from .models import (
    BulkDeleteBatch,
    BulkDeleteProgress,
    BulkDeleteResult,
    DeletionStatus,
    DeletionWaitResult,
    Person,
)
from .paginator import PageCursor

if TYPE_CHECKING:
    from ._calls import Reply

logger = logging.getLogger("posthog_persons")

T = TypeVar("T")

#: deletion_status(person_uuids=...) asks once per UUID (person_uuid=) up to this many UUIDs,
#: and beyond it pages through the whole list once and keeps the wanted records.
PER_UUID_QUERIES_UP_TO = 20
#: Page size of the deletion status scans of wait_for_deletions.
STATUS_PAGE_SIZE = 100
#: How many times one wait_for_deletions round rescans when the pending list changed under it.
SCANS_PER_ROUND = 3
_TRANSIENT = (RateLimitError, ServerError, APIConnectionError)


def _paginate(
    origin: Origin,
    op: str,
    kwargs: dict[str, Any],
    page_size: int,
    build: Callable[[Any], T],
    key: Callable[[T], Hashable],
    keep: Callable[[T], bool] | None = None,
) -> Stream:
    cursor = PageCursor(origin, page_size, key)

    def read(data: Any) -> _convert.Page[T]:
        return _convert.page(data, build)

    while (params := cursor.params()) is not None:
        reply: Reply = yield Call(op, {**kwargs, **params})
        page = reply.read(read)
        fresh = cursor.accept(page.items, page.next)
        yield Emit(fresh if keep is None else [item for item in fresh if keep(item)])


def _read_status_page(data: Any) -> _convert.Page[DeletionStatus]:
    return _convert.page(data, _convert.deletion_status)


def _person_key(person: Person) -> Hashable:
    return person.uuid


def _status_key(record: DeletionStatus) -> Hashable:
    return (record.person_uuid, record.created_at)


def iter_persons(
    origin: Origin,
    *,
    search: str | None,
    email: str | None,
    distinct_id: str | None,
    properties: Iterable[Any] | None,
    page_size: int,
) -> Stream:
    filters = {
        name: check.text(value, name)
        for name, value in (("search", search), ("email", email), ("distinct_id", distinct_id))
        if value is not None
    }
    if properties is not None:
        filters["properties"] = check.property_filters(properties)
    size = check.positive_int(page_size, "page_size")
    return _paginate(origin, "persons_list", filters, size, _convert.person, _person_key)


def get_person(person_id: object) -> Job[Person]:
    return _get_person(check.person_ref(person_id))


def _get_person(ref: str) -> Job[Person]:
    reply: Reply = yield Call("persons_retrieve", {"id": ref})
    return reply.read(_convert.person)


def update_properties(person_id: object, properties: object) -> Job[None]:
    ref, body = check.person_ref(person_id), {"properties": check.properties(properties)}
    return _no_answer(Call("persons_partial_update", {"id": ref}, body))


def delete_property(person_id: object, key: object) -> Job[None]:
    ref, body = check.person_ref(person_id), {"$unset": check.text(key, "key")}
    return _no_answer(Call("persons_delete_property_create", {"id": ref}, body))


def _no_answer(call: Call) -> Job[None]:
    yield call


def _lookup_chunk(field: str, chunk: Iterable[str]) -> Job[dict[str, Person]]:
    op = f"persons_batch_by_{field}_create"
    reply: Reply = yield Call(op, {}, {field: list(chunk)})
    if field == "uuids":
        return reply.read(_convert.lookup_by_uuid)
    return reply.read(_convert.lookup)


def _lookup(field: str, keys: list[str]) -> Job[dict[str, Person]]:
    found: dict[str, Person] = {}
    for chunk in chunks(keys, LOOKUP_BATCH):
        found.update((yield from _lookup_chunk(field, chunk)))
    return found


def lookup(field: str, values: object) -> Job[dict[str, Person]]:
    """Batch lookup by "distinct_ids" or "uuids": validated and deduplicated up front."""
    if field == "uuids":
        return _lookup(field, check.unique(values, "uuids", check.validate_uuid))
    return _lookup(field, check.unique(values, "ids", check.validate_distinct_id))


BeforeBatch = Callable[[BulkDeleteBatch], object]
OnProgress = Callable[[BulkDeleteProgress], object]


def bulk_delete(
    *,
    ids: object,
    distinct_ids: object,
    delete_events: bool,
    delete_recordings: bool,
    keep_person: bool,
    batch_size: object,
    before_batch: BeforeBatch | None,
    on_progress: OnProgress | None,
) -> Job[BulkDeleteResult]:
    for name, hook in (("before_batch", before_batch), ("on_progress", on_progress)):
        if hook is not None and not callable(hook):
            raise check.InvalidInputError(f"{name} must be callable, got {hook!r}")
    job = BulkDeleteJob(
        ids=ids,
        distinct_ids=distinct_ids,
        delete_events=delete_events,
        delete_recordings=delete_recordings,
        keep_person=keep_person,
        batch_size=batch_size,
    )
    return _bulk_delete(job, before_batch, on_progress)


def _resolve(job: BulkDeleteJob, batch: list[str]) -> Job[list[str] | None]:
    """The UUIDs of the persons a batch of distinct ids names, when the job tracks them."""
    if not job.resolve:
        return None
    resolved: dict[str, None] = {}
    for chunk in chunks(batch, LOOKUP_BATCH):
        found = yield from _lookup_chunk("distinct_ids", chunk)
        resolved.update(dict.fromkeys(person.uuid for person in found.values()))
    return list(resolved)


def _bulk_delete(
    job: BulkDeleteJob, before_batch: BeforeBatch | None, on_progress: OnProgress | None
) -> Job[BulkDeleteResult]:
    """Each batch: resolve (distinct ids -> UUIDs, when tracked), `before_batch`, send, record,
    `on_progress`. An exception of a hook propagates as it is: from `before_batch`, that batch
    was not sent; from `on_progress`, it was confirmed (and the hook was told)."""
    while batch := job.next_batch():
        try:
            resolved = yield from _resolve(job, batch)
        except PostHogError as exc:
            raise job.failure(exc, batch) from exc
        if before_batch is not None:
            before_batch(job.plan(batch, resolved))
        try:
            reply: Reply = yield Call("persons_bulk_delete_create", {}, job.body(batch))
            summary = reply.read(_convert.summary)
        except PostHogError as exc:
            raise job.failure(exc, batch) from exc
        progress = job.record(batch, summary, resolved)
        if on_progress is not None:
            on_progress(progress)
    return job.result()


def deletion_status(origin: Origin, *, person_uuids: object | None, status: object) -> Stream:
    base = {"status": check.deletion_status(status)}

    def pages(
        kwargs: dict[str, Any], keep: Callable[[DeletionStatus], bool] | None = None
    ) -> Stream:
        return _paginate(
            origin, "persons_deletion_status_list", kwargs, STATUS_PAGE_SIZE,
            _convert.deletion_status, _status_key, keep,
        )  # fmt: skip

    if person_uuids is None:
        return pages(base)
    uuids = check.unique(person_uuids, "person_uuids", check.validate_uuid)
    if len(uuids) <= PER_UUID_QUERIES_UP_TO:
        return _chain(pages({**base, "person_uuid": uuid}) for uuid in uuids)
    wanted = set(uuids)
    return pages(base, keep=lambda record: record.person_uuid in wanted)


def _chain(flows: Iterable[Stream]) -> Stream:
    for flow in flows:
        yield from flow


def wait_for_deletions(
    origin: Origin,
    person_uuids: object,
    *,
    timeout: object,
    poll_interval: object,
    clock: Callable[[], float],
) -> Job[DeletionWaitResult]:
    uuids = check.unique(person_uuids, "person_uuids", check.validate_uuid)
    limit = check.seconds(timeout, "timeout", allow_zero=True)
    interval = check.seconds(poll_interval, "poll_interval", allow_zero=False)
    return _wait(origin, uuids, limit, interval, clock)


def _wait(
    origin: Origin, uuids: list[str], timeout: float, interval: float, clock: Callable[[], float]
) -> Job[DeletionWaitResult]:
    deadline = clock() + timeout
    pending = set(uuids)  # unknown counts as pending until a trustworthy round says otherwise
    while pending:
        still = yield from _pending_round(origin, pending)
        if still is not None:
            pending = still
        left = deadline - clock()
        if not pending or left <= 0:
            break
        logger.info("%d deletion(s) still pending; polling again in %.0fs", len(pending), interval)
        yield Sleep(min(interval, left))
    return DeletionWaitResult(
        completed=tuple(u for u in uuids if u not in pending),
        pending=tuple(u for u in uuids if u in pending),
        done=not pending,
    )


def _pending_round(origin: Origin, wanted: set[str]) -> Job[set[str] | None]:
    """Which wanted UUIDs the pending list holds; None if this round cannot tell.

    One scan pages through `status=pending` and costs ceil(pending / 100) requests, whatever
    the number wanted. The list shrinks while it is read (deletions complete), shifting the
    offsets so that a record can be skipped and look completed: when `count` differs between
    the first and the last page, the scan is repeated (at most SCANS_PER_ROUND times), and a
    round that never sees a stable list changes nothing. A rate limit, server or connection
    error also makes the round inconclusive instead of failing the wait.
    """
    for _ in range(SCANS_PER_ROUND):
        cursor = PageCursor(origin, STATUS_PAGE_SIZE, _status_key)
        counts: list[int | None] = []
        seen: set[str] = set()
        while (params := cursor.params()) is not None:
            try:
                query = {"status": "pending", **params}
                reply: Reply = yield Call("persons_deletion_status_list", query)
            except _TRANSIENT as exc:
                logger.warning("deletion status poll failed, will retry next round: %s", exc)
                return None
            page = reply.read(_read_status_page)
            counts.append(page.count)
            for record in cursor.accept(page.items, page.next):
                if record.person_uuid in wanted:
                    seen.add(record.person_uuid)
        if counts[0] == counts[-1]:
            return seen
        logger.info(
            "pending list changed during the scan (%s -> %s); rescanning", counts[0], counts[-1]
        )
    return None
