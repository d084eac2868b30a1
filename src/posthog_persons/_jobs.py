"""The jobs of PersonsClient and AsyncPersonsClient, each written once as a sans-IO flow.

Every public function here validates its arguments at once (raising InvalidInputError before
any request) and returns a flow (see `_sansio`) that the sync or async client drives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Hashable, Iterable
from typing import Any, TypeVar

from . import _convert
from . import _validation as check
from ._config import Origin
from ._sansio import Action, Call, Emit, Flow, Sleep
from .batching import LOOKUP_BATCH, BulkDeleteJob, chunks
from .errors import APIConnectionError, PostHogError, RateLimitError, ServerError
from .models import BulkDeleteProgress, DeletionStatus, DeletionWaitResult, Person
from .paginator import PageCursor

logger = logging.getLogger("posthog_persons")

T = TypeVar("T")
SubFlow = Generator[Action, Any, T]

#: deletion_status(person_uuids=...) asks once per UUID (person_uuid=) up to this many UUIDs,
#: and beyond it pages through the whole list once and keeps the wanted records.
PER_UUID_QUERIES_UP_TO = 20
#: Page size of the deletion status scans of wait_for_deletions.
STATUS_PAGE_SIZE = 100
#: How many times one wait_for_deletions round rescans when the pending list changed under it.
SCANS_PER_ROUND = 3
_TRANSIENT = (RateLimitError, ServerError, APIConnectionError)


def _body(model: str, data: dict[str, Any]) -> Any:
    """A generated request model (imported lazily: the generated models are many)."""
    from posthog_persons_api import models

    return getattr(models, model).from_dict(data)


def _one(call: Call, build: Callable[[Any], Any]) -> Flow:
    reply = yield call
    yield Emit([build(reply.data)])


def _paginate(
    origin: Origin,
    op: str,
    kwargs: dict[str, Any],
    page_size: int,
    build: Callable[[Any], T],
    key: Callable[[T], Hashable],
    keep: Callable[[T], bool] | None = None,
) -> Flow:
    cursor = PageCursor(origin, page_size, key)
    while (params := cursor.params()) is not None:
        reply = yield Call(op, {**kwargs, **params}, raw=True)
        page = _convert.page(reply.data, build)
        fresh = cursor.accept(page.items, page.next)
        yield Emit(fresh if keep is None else [item for item in fresh if keep(item)])


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
) -> Flow:
    filters = {
        name: check.text(value, name)
        for name, value in (("search", search), ("email", email), ("distinct_id", distinct_id))
        if value is not None
    }
    if properties is not None:
        filters["properties"] = check.property_filters(properties)
    size = check.positive_int(page_size, "page_size")
    return _paginate(origin, "list", filters, size, _convert.person, _person_key)


def get_person(person_id: object) -> Flow:
    return _one(Call("retrieve", {"id": check.person_ref(person_id)}), _convert.person)


def _nothing(_data: Any) -> None:
    return None


def update_properties(person_id: object, properties: object) -> Flow:
    ref = check.person_ref(person_id)
    body = _body("PersonPropertiesUpdate", {"properties": check.properties(properties)})
    return _one(Call("partial_update", {"id": ref, "body": body}), _nothing)


def delete_property(person_id: object, key: object) -> Flow:
    ref = check.person_ref(person_id)
    body = _body("PersonDeletePropertyRequest", {"$unset": check.text(key, "key")})
    return _one(Call("delete_property_create", {"id": ref, "body": body}), _nothing)


def _lookup_chunk(field: str, chunk: Iterable[str]) -> SubFlow[dict[str, Person]]:
    if field == "uuids":
        op, model = "batch_by_uuids_create", "PersonBatchByUuidsRequest"
    else:
        op, model = "batch_by_distinct_ids_create", "PersonBatchByDistinctIdsRequest"
    reply = yield Call(op, {"body": _body(model, {field: list(chunk)})})
    return _convert.lookup(reply.data, uuid_keys=field == "uuids")


def _lookup(field: str, keys: list[str]) -> Flow:
    found: dict[str, Person] = {}
    for chunk in chunks(keys, LOOKUP_BATCH):
        found.update((yield from _lookup_chunk(field, chunk)))
    yield Emit([found])


def lookup(field: str, values: object) -> Flow:
    """Batch lookup by "distinct_ids" or "uuids": validated and deduplicated up front."""
    if field == "uuids":
        return _lookup(field, check.unique(values, "uuids", check.canonical_uuid))
    return _lookup(field, check.unique(values, "ids", check.distinct_id))


def bulk_delete(
    *,
    ids: object,
    distinct_ids: object,
    delete_events: bool,
    delete_recordings: bool,
    keep_person: bool,
    on_progress: Callable[[BulkDeleteProgress], object] | None,
) -> Flow:
    job = BulkDeleteJob(
        ids=ids,
        distinct_ids=distinct_ids,
        delete_events=delete_events,
        delete_recordings=delete_recordings,
        keep_person=keep_person,
    )
    if on_progress is not None and not callable(on_progress):
        raise check.InvalidInputError(f"on_progress must be callable, got {on_progress!r}")
    return _bulk_delete(job, on_progress)


def _bulk_delete(
    job: BulkDeleteJob, on_progress: Callable[[BulkDeleteProgress], object] | None
) -> Flow:
    while batch := job.next_batch():
        resolved: dict[str, None] = {}
        try:
            if job.resolve:  # distinct ids -> UUIDs, so the queued deletions can be tracked
                for chunk in chunks(batch, LOOKUP_BATCH):
                    found = yield from _lookup_chunk("distinct_ids", chunk)
                    resolved.update(dict.fromkeys(person.uuid for person in found.values()))
            body = _body("PersonBulkDeleteRequest", job.body(batch))
            reply = yield Call("bulk_delete_create", {"body": body})
            summary = _convert.summary(reply.data)
        except PostHogError as exc:
            raise job.failure(exc, batch) from exc
        progress = job.record(batch, summary, list(resolved))
        if on_progress is not None:
            on_progress(progress)
    yield Emit([job.result()])


def deletion_status(origin: Origin, *, person_uuids: object | None, status: object) -> Flow:
    base = {"status": check.deletion_status(status)}

    def pages(kwargs: dict[str, Any], keep: Callable[[DeletionStatus], bool] | None = None) -> Flow:
        return _paginate(
            origin, "deletion_status_retrieve", kwargs, STATUS_PAGE_SIZE,
            _convert.deletion_status, _status_key, keep,
        )  # fmt: skip

    if person_uuids is None:
        return pages(base)
    uuids = check.unique(person_uuids, "person_uuids", check.canonical_uuid)
    if len(uuids) <= PER_UUID_QUERIES_UP_TO:
        return _chain(pages({**base, "person_uuid": uuid}) for uuid in uuids)
    wanted = set(uuids)
    return pages(base, keep=lambda record: record.person_uuid in wanted)


def _chain(flows: Iterable[Flow]) -> Flow:
    for flow in flows:
        yield from flow


def wait_for_deletions(
    origin: Origin,
    person_uuids: object,
    *,
    timeout: object,
    poll_interval: object,
    clock: Callable[[], float],
) -> Flow:
    uuids = check.unique(person_uuids, "person_uuids", check.canonical_uuid)
    limit = check.seconds(timeout, "timeout", allow_zero=True)
    interval = check.seconds(poll_interval, "poll_interval", allow_zero=False)
    return _wait(origin, uuids, limit, interval, clock)


def _wait(
    origin: Origin, uuids: list[str], timeout: float, interval: float, clock: Callable[[], float]
) -> Flow:
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
    yield Emit(
        [
            DeletionWaitResult(
                completed=tuple(u for u in uuids if u not in pending),
                pending=tuple(u for u in uuids if u in pending),
                done=not pending,
            )
        ]
    )


def _pending_round(origin: Origin, wanted: set[str]) -> SubFlow[set[str] | None]:
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
                reply = yield Call(
                    "deletion_status_retrieve", {"status": "pending", **params}, raw=True
                )
            except _TRANSIENT as exc:
                logger.warning("deletion status poll failed, will retry next round: %s", exc)
                return None
            page = _convert.page(reply.data, _convert.deletion_status)
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
