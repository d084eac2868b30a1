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
from ._sansio import Call, Emit, Failed, Job, Sleep, Stream, Together
from .batching import LOOKUP_BATCH, BulkDeleteJob, chunks
from .errors import (
    APIConnectionError,
    InvalidInputError,
    PostHogError,
    RateLimitError,
    ServerError,
)
from .models import (
    BulkDeleteBatch,
    BulkDeleteProgress,
    BulkDeleteResult,
    DeletionStatus,
    DeletionWaitResult,
    Person,
)
from .paginator import MAX_PAGE_SIZE, PageCursor

if TYPE_CHECKING:
    from ._calls import Reply

logger = logging.getLogger("posthog_persons")

T = TypeVar("T")

#: deletion_status(person_uuids=...) asks once per UUID (person_uuid=) up to this many UUIDs,
#: and beyond it pages through the whole list once and keeps the wanted records.
PER_UUID_QUERIES_UP_TO = 20
#: Page size of the deletion status reads (wait_for_deletions' scans, deletion_status()).
#: The server sets no maximum there (DRF limit/offset pagination without max_limit; the
#: notes, "What the 2026 server does"), and each request costs it a count of the whole list
#: and an OFFSET scan, so fewer, larger pages are cheaper for both sides. Measured against the
#: emulator's HTTP server (50,000 pending records, best of 2, raw httpx, this build machine):
#: page 100: 500 requests; 1,000: 50 requests, 9.5 s; 5,000: 10, 1.4 s; 10,000: 5, 0.7 s;
#: 20,000: 3, 0.47 s; 50,000: 1, 0.28 s. 50,000 rows (about 8 MB of JSON, parsed in
#: a fraction of a second) keep a round over 3 million pending records at 60 requests instead
#: of 30,000 at the default 100, within the read budget's first minute.
STATUS_PAGE_SIZE = 50_000
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
    if size > MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"page_size {size:,} is above the server's largest page of {MAX_PAGE_SIZE:,} rows "
            "(it would answer 50,000 and no next link, silently dropping the rest); use at "
            f"most {MAX_PAGE_SIZE:,}",
            reason="page too large",
        )
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
            raise InvalidInputError(f"{name} must be callable, got {hook!r}")
    job = BulkDeleteJob(
        ids=ids,
        distinct_ids=distinct_ids,
        delete_events=delete_events,
        delete_recordings=delete_recordings,
        keep_person=keep_person,
        batch_size=batch_size,
    )
    return _bulk_delete(job, before_batch, on_progress)


def _resolve(field: str, batch: list[str]) -> Job[list[str]]:
    """The UUIDs of the persons a batch names (batch lookups by `field`, 200 a call): for
    distinct ids, the persons they belong to; for UUIDs, those that match a person. The
    server queues event deletion only for the persons it finds (`bulk_delete` in
    posthog/api/person.py), so an id matching nobody is never tracked."""
    resolved: dict[str, None] = {}
    for chunk in chunks(batch, LOOKUP_BATCH):
        found = yield from _lookup_chunk(field, chunk)
        resolved.update(dict.fromkeys(person.uuid for person in found.values()))
    return list(resolved)


def _send(job: BulkDeleteJob, batch: list[str]) -> Job[_convert.Summary]:
    reply: Reply = yield Call("persons_bulk_delete_create", {}, job.body(batch))
    return reply.read(_convert.summary)


def _bulk_delete(
    job: BulkDeleteJob, before_batch: BeforeBatch | None, on_progress: OnProgress | None
) -> Job[BulkDeleteResult]:
    """The batches in order; for each: `before_batch`, send, record, `on_progress`.

    When the batches are resolved to the persons they name (`job.resolve`), the lookups of
    batch k+1 run while batch k's delete is in flight: each step is ONE action
    `Together([send(batch k), resolve(batch k+1)])`, so an erasure takes about
    max(lookup time, delete time), not their sum (the reads and deletes budgets are separate;
    bench/erasure.py measures it on a simulated clock: within 5% of the throttles' floor).
    The first batch's lookups run alone, before it.

    Hooks still see a strict order: before_batch(k), on_progress(k), before_batch(k+1)...
    A failure names every id not confirmed (`remaining`): the failed batch and the one read
    ahead; a lookup failing for batch k+1 after batch k succeeded stops with batch k recorded.
    An exception of a hook propagates as it is: from `before_batch`, that batch was not sent;
    from `on_progress`, it was confirmed (and the hook was told).
    """
    batch, bad = job.read_batch()
    resolved: list[str] | None = None
    if batch and job.resolve:
        try:
            resolved = yield from _resolve(job.lookup_field, batch)
        except PostHogError as exc:
            raise job.failure(exc, batch) from exc
    while batch:
        if before_batch is not None:
            before_batch(job.plan(batch, resolved))
        following: list[str] = []
        if job.resolve:  # read ahead, to resolve the next batch during this one's delete
            following, bad = job.read_batch()
        jobs: list[Job[Any]] = [_send(job, batch)]
        if following:
            jobs.append(_resolve(job.lookup_field, following))
        sent, *ahead = yield Together(jobs)
        if isinstance(sent, Failed):
            raise _stopped(job, sent.error, batch + following)
        progress = job.record(batch, sent.value, resolved)
        if on_progress is not None:
            on_progress(progress)
        if not job.resolve:
            following, bad = job.read_batch()
        if ahead and isinstance(ahead[0], Failed):
            raise _stopped(job, ahead[0].error, following)
        resolved = ahead[0].value if ahead else None
        if bad is not None:
            raise job.bad_input(bad)
        batch = following
    if bad is not None:
        raise job.bad_input(bad)
    return job.result()


def _stopped(job: BulkDeleteJob, error: Exception, unsent: list[str]) -> Exception:
    """What stops the job: our error wrapped with what remains; anything else as it is."""
    if not isinstance(error, PostHogError):
        return error
    stopped = job.failure(error, unsent)
    stopped.__cause__ = error
    return stopped


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
    delete_events: object = True,
    keep_person: object = False,
) -> Job[DeletionWaitResult]:
    uuids = check.unique(person_uuids, "person_uuids", check.validate_uuid)
    limit = check.seconds(timeout, "timeout", allow_zero=True)
    interval = check.seconds(poll_interval, "poll_interval", allow_zero=False)
    events, persons = (
        check.flag(delete_events, "delete_events"),
        not check.flag(keep_person, "keep_person"),
    )
    if not (events or persons):
        raise InvalidInputError(
            "nothing to wait for: with keep_person=True and delete_events=False no deletion "
            "was asked for"
        )
    return _wait(origin, _Erasure(uuids, events=events, persons=persons), limit, interval, clock)


class _Erasure:
    """What is known of each awaited person: its event deletion, and whether it still exists.

    Event deletion: "pending" or "completed" (the server's record; pending wins when a person
    has several), or None when no record was seen (yet). Existence: True (the lookup found the
    person), False (it did not), None (not looked up yet).
    """

    def __init__(self, uuids: list[str], *, events: bool, persons: bool) -> None:
        self.uuids, self.events, self.persons = uuids, events, persons
        self.record: dict[str, str | None] = dict.fromkeys(uuids)
        self.exists: dict[str, bool | None] = dict.fromkeys(uuids)
        self.scanned_all = False  # a full scan (every status) has told which have no record
        self.records_read = False  # a round has read the event deletions conclusively

    def pending(self) -> list[str]:
        return [u for u in self.uuids if self.record[u] == "pending"]

    def unsettled_records(self) -> list[str]:
        """UUIDs whose event deletion may still change: pending, or not seen yet."""
        return [u for u in self.uuids if self.record[u] != "completed"]

    def to_look_up(self) -> list[str]:
        """Persons to look up: not yet seen gone, and their event deletion completed (or not
        awaited): a person is looked up once its own deletion is through, then each round
        until it is gone."""
        if not self.persons:
            return []
        return [
            u for u in self.uuids
            if self.exists[u] is not False and (not self.events or self.record[u] == "completed")
        ]  # fmt: skip

    def settled(self) -> bool:
        """Nothing can change any more: the records were read, none is pending, and every
        person looked up is gone. (A UUID without a record stays "unknown": records are made
        by the bulk delete itself, so none appears later; a pending scan would still see one.)"""
        if self.events and not self.records_read:
            return False
        return not self.pending() and not self.to_look_up()

    def result(self) -> DeletionWaitResult:
        buckets: dict[str, list[str]] = {"completed": [], "pending": [], "unknown": [],
                                         "still_existing": []}  # fmt: skip
        for u in self.uuids:
            if self.events and (
                self.record[u] == "pending" or (self.record[u] is None and not self.records_read)
            ):
                buckets["pending"].append(u)  # a record never read counts as pending
            elif self.events and self.record[u] is None:
                buckets["unknown"].append(u)
            elif self.persons and self.exists[u] is not False:
                buckets["still_existing"].append(u)
            else:
                buckets["completed"].append(u)
        return DeletionWaitResult(
            completed=tuple(buckets["completed"]),
            pending=tuple(buckets["pending"]),
            done=len(buckets["completed"]) == len(self.uuids),
            unknown=tuple(buckets["unknown"]),
            still_existing=tuple(buckets["still_existing"]),
        )


def _wait(
    origin: Origin, erasure: _Erasure, timeout: float, interval: float, clock: Callable[[], float]
) -> Job[DeletionWaitResult]:
    """Rounds until every awaited person is erased, nothing can change, or the timeout.

    A round: the event deletions (if awaited) first; then, once none is pending, a batch
    lookup of the persons whose deletions are through (200 UUIDs a request), since a newer
    server deletes the profiles a little after answering the bulk delete. A round that fails
    on a rate limit, a server or connection error, or reads a list that changed under it,
    learns nothing and changes nothing: slowness never raises.
    """
    deadline = clock() + timeout
    while True:
        if erasure.events:
            yield from _event_round(origin, erasure)
        yield from _existence_round(erasure)
        left = deadline - clock()
        if erasure.settled() or left <= 0:
            return erasure.result()
        logger.info(
            "%d event deletion(s) pending, %d person(s) still to go; polling again in %.0fs",
            len(erasure.pending()), sum(1 for u in erasure.uuids if erasure.exists[u]), interval,
        )  # fmt: skip
        yield Sleep(min(interval, left))


def _event_round(origin: Origin, erasure: _Erasure) -> Job[None]:
    wanted = erasure.unsettled_records()
    if not wanted:
        return
    try:
        if len(erasure.uuids) <= PER_UUID_QUERIES_UP_TO:
            exact = yield from _records_one_by_one(wanted)
            erasure.record.update(exact)  # no record means none
            erasure.records_read = True
            return
        status = "pending" if erasure.scanned_all else "all"
        seen = yield from _scan(origin, status, set(wanted))
    except _TRANSIENT as exc:
        logger.warning("deletion status poll failed, will retry next round: %s", exc)
        return
    if seen is None:
        return
    erasure.records_read = True
    if status == "all":
        erasure.scanned_all = True
        erasure.record.update({u: seen.get(u) for u in wanted})
        return
    for u in wanted:  # a pending scan: what left the list completed; what joined it is pending
        if u in seen:
            erasure.record[u] = "pending"
        elif erasure.record[u] == "pending":
            erasure.record[u] = "completed"


def _strongest(old: str | None, new: str) -> str:
    return "pending" if "pending" in (old, new) else new


def _records_one_by_one(uuids: list[str]) -> Job[dict[str, str | None]]:
    """Each UUID's deletion status by `person_uuid=` (one request each, few UUIDs)."""
    found: dict[str, str | None] = dict.fromkeys(uuids)
    for u in uuids:
        query = {"status": "all", "person_uuid": u, "limit": STATUS_PAGE_SIZE}
        reply: Reply = yield Call("persons_deletion_status_list", query)
        for record in reply.read(_read_status_page).items:
            if record.person_uuid == u:
                found[u] = _strongest(found[u], record.status)
    return found


def _scan(origin: Origin, status: str, wanted: set[str]) -> Job[dict[str, str] | None]:
    """The statuses of the wanted UUIDs on the `status` list; None if the scan cannot tell.

    One scan costs ceil(list length / STATUS_PAGE_SIZE) requests, whatever the number wanted.
    A record leaving the pending list while it is read shifts the offsets, so that a pending
    record can be skipped and look completed: when a pending list's `count` differs between
    its first and last page the scan is repeated (at most SCANS_PER_ROUND times), and a round
    that never sees a stable list tells nothing. (The list of every status only grows while
    it is read, which repeats records at page boundaries but skips none.)
    """
    for _ in range(SCANS_PER_ROUND):
        cursor = PageCursor(origin, STATUS_PAGE_SIZE, _status_key)
        counts: list[int | None] = []
        seen: dict[str, str] = {}
        while (params := cursor.params()) is not None:
            query = {"status": status, **params}
            reply: Reply = yield Call("persons_deletion_status_list", query)
            page = reply.read(_read_status_page)
            counts.append(page.count)
            for record in cursor.accept(page.items, page.next):
                if record.person_uuid in wanted:
                    seen[record.person_uuid] = _strongest(
                        seen.get(record.person_uuid), record.status
                    )
        if status != "pending" or counts[0] == counts[-1]:
            return seen
        logger.info(
            "pending list changed during the scan (%s -> %s); rescanning", counts[0], counts[-1]
        )
    return None


def _existence_round(erasure: _Erasure) -> Job[None]:
    """Batch lookups by UUID (200 a request) of the persons whose deletions are through."""
    for chunk in chunks(erasure.to_look_up(), LOOKUP_BATCH):
        try:
            found = yield from _lookup_chunk("uuids", chunk)
        except _TRANSIENT as exc:
            logger.warning("person lookup failed, will retry next round: %s", exc)
            return
        erasure.exists.update({u: u in found for u in chunk})
