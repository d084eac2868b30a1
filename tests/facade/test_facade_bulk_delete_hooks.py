"""What the CLI's journal relies on: bulk_delete's hooks, queued deletions, batch sizes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from facade_support import body, person_json, person_uuid, run_async, uuid_lookup

from posthog_persons import (
    BulkDeleteBatch,
    BulkDeleteError,
    BulkDeleteProgress,
    InvalidInputError,
    ServerError,
)
from posthog_persons.batching import BULK_DELETE_BATCH, LOOKUP_BATCH


def server(*, queued: bool = False, persons: dict[str, int] | None = None, fail_batch: int = 0):
    """bulk_delete and the distinct-id lookup; `persons`: distinct id -> person index.

    `queued`: answer as newer deployments do (persons_deleted 0, persons_queued_for_deletion).
    `fail_batch`: the n-th bulk_delete answers 503.
    """
    persons = persons if persons is not None else {}
    calls = {"bulk": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        data = body(request)
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            hits = {d: person_json(persons[d]) for d in data["distinct_ids"] if d in persons}
            return httpx.Response(200, json={"results": hits})
        if request.url.path.endswith("/batch_by_uuids/"):
            return uuid_lookup(request)
        calls["bulk"] += 1
        if calls["bulk"] == fail_batch:
            return httpx.Response(503, json={"detail": "down"})
        ids = data.get("ids") or data["distinct_ids"]
        found = len(ids) if "ids" in data else len({persons[d] for d in ids if d in persons})
        answer: dict[str, Any] = {"persons_found": found, "persons_deleted": found,
                                  "events_queued_for_deletion": data["delete_events"]}  # fmt: skip
        if queued:
            answer.update(persons_deleted=0, persons_queued_for_deletion=found)
        return httpx.Response(202, json=answer)

    return handle


def test_before_batch_sees_the_exact_ids_and_their_resolved_uuids(make_client) -> None:
    persons = {f"user-{i}": i // 2 for i in range(2200) if i % 5}  # 2 ids per person, some unknown
    client, recorder = make_client(server(persons=persons), max_retries=0)
    ids = [f"user-{i}" for i in range(2200)]
    log: list[Any] = []

    def before(batch: BulkDeleteBatch) -> None:
        sent = sum(1 for r in recorder.requests if r.url.path.endswith("/bulk_delete/"))
        log.append(("before", batch, sent))

    result = client.bulk_delete(
        distinct_ids=ids, delete_events=True, before_batch=before,
        on_progress=lambda p: log.append(("after", p)),
    )  # fmt: skip
    assert [entry[0] for entry in log] == ["before", "after"] * 3
    plans = [entry[1] for entry in log if entry[0] == "before"]
    assert [plan.number for plan in plans] == [1, 2, 3]
    assert [entry[2] for entry in log if entry[0] == "before"] == [0, 1, 2]  # before sending
    bodies = [b for b, r in zip(recorder.bodies(), recorder.requests, strict=True)
              if r.url.path.endswith("/bulk_delete/")]  # fmt: skip
    for plan, sent in zip(plans, bodies, strict=True):
        assert plan.field == "distinct_ids" and list(plan.ids) == sent["distinct_ids"]
        expected = dict.fromkeys(person_uuid(persons[d]) for d in plan.ids if d in persons)
        assert plan.person_uuids == tuple(expected)
    outcomes = [entry[1].batch for entry in log if entry[0] == "after"]
    assert [o.ids_sent for o in outcomes] == [1000, 1000, 200]
    assert sum(len(o.person_uuids) for o in outcomes) == len(result.person_uuids)
    assert result.persons_found == sum(o.persons_found for o in outcomes)


def test_uuids_are_looked_up_and_only_persons_that_exist_are_tracked(make_client) -> None:
    """The server queues event deletion only for the persons it finds: a UUID matching
    nobody is neither journalled (before_batch) nor tracked (person_uuids)."""
    existing = {person_uuid(i) for i in range(1500) if i % 3}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch_by_uuids/"):
            return uuid_lookup(request, existing.__contains__)
        n = len([u for u in body(request)["ids"] if u in existing])
        return httpx.Response(202, json={"persons_found": n, "persons_deleted": n})

    client, recorder = make_client(handler)
    plans: list[BulkDeleteBatch] = []
    progress: list[BulkDeleteProgress] = []
    ids = [person_uuid(i) for i in range(1500)]
    result = client.bulk_delete(
        ids=ids, delete_events=True, before_batch=plans.append, on_progress=progress.append
    )
    assert [p.ids for p in plans] == [tuple(ids[:1000]), tuple(ids[1000:])]
    assert [p.person_uuids for p in plans] == [
        tuple(u for u in ids[:1000] if u in existing), tuple(u for u in ids[1000:] if u in existing)
    ]  # fmt: skip
    assert result.person_uuids == tuple(u for u in ids if u in existing)
    assert result.persons_found == len(existing) == 1000
    assert [p.batch.person_uuids for p in progress if p.batch] == [p.person_uuids for p in plans]
    lookups = [b["uuids"] for b, r in zip(recorder.bodies(), recorder.requests, strict=True)
               if r.url.path.endswith("/batch_by_uuids/")]  # fmt: skip
    assert [len(chunk) for chunk in lookups] == [LOOKUP_BATCH] * 7 + [100]
    assert [u for chunk in lookups for u in chunk] == ids
    plans.clear()
    sent = len(recorder.requests)
    client.bulk_delete(ids=ids[:5], before_batch=plans.append)  # nothing to track: no lookup
    assert plans[0].person_uuids is None
    paths = [r.url.path for r in recorder.requests[sent:]]
    assert paths == ["/api/projects/1/persons/bulk_delete/"]


def test_a_failing_before_batch_stops_the_job_before_that_batch_is_sent(make_client) -> None:
    client, recorder = make_client(server())

    def before(batch: BulkDeleteBatch) -> None:
        if batch.number == 2:
            raise OSError("journal: disk full")

    with pytest.raises(OSError, match="disk full"):
        client.bulk_delete(ids=[person_uuid(i) for i in range(1500)], before_batch=before)
    assert len(recorder.requests) == 1


def test_queued_deletions_are_counted_apart_and_never_as_failures(make_client) -> None:
    """Newer deployments answer persons_deleted 0 and persons_queued_for_deletion N."""
    client, _ = make_client(server(queued=True))
    progress: list[BulkDeleteProgress] = []
    ids = [person_uuid(i) for i in range(1500)]
    result = client.bulk_delete(ids=ids, delete_events=True, on_progress=progress.append)
    assert (result.persons_deleted, result.persons_queued, result.errors) == (0, 1500, ())
    assert result.person_uuids == tuple(ids)  # all tracked: none failed
    assert [(p.persons_queued, p.batch.persons_queued) for p in progress if p.batch] == [
        (1000, 1000),
        (1500, 500),
    ]
    assert all(p.errors == 0 and p.batch and p.batch.deletion_errors == () for p in progress)


def test_a_failed_batch_reports_queued_persons_done_before_it(make_client) -> None:
    client, _ = make_client(server(queued=True, fail_batch=2), max_retries=0)
    with pytest.raises(BulkDeleteError, match="1000 queued for deletion") as caught:
        client.bulk_delete(ids=[person_uuid(i) for i in range(1500)])
    assert caught.value.result.persons_queued == 1000
    assert isinstance(caught.value, ServerError)


@pytest.mark.parametrize("size", [0, 1001, True, 2.5, "10"])
def test_batch_size_is_checked_before_any_request(make_client, size: object) -> None:
    client, recorder = make_client(server())
    with pytest.raises(InvalidInputError, match="batch_size"):
        client.bulk_delete(ids=[person_uuid(1)], batch_size=size)  # type: ignore[arg-type]
    assert recorder.requests == []


def test_a_smaller_batch_size_is_honoured(make_client) -> None:
    client, recorder = make_client(server())
    client.bulk_delete(ids=[person_uuid(i) for i in range(250)], batch_size=100)
    assert [len(b["ids"]) for b in recorder.bodies()] == [100, 100, 50]


@pytest.mark.parametrize("hook", ["before_batch", "on_progress"])
def test_hooks_must_be_callable(make_client, hook: str) -> None:
    client, recorder = make_client(server())
    with pytest.raises(InvalidInputError, match=hook):
        client.bulk_delete(ids=[person_uuid(1)], **{hook: "journal.jsonl"})
    assert recorder.requests == []


def test_the_batch_sizes_are_public_facts() -> None:
    assert (BULK_DELETE_BATCH, LOOKUP_BATCH) == (1000, 200)


def test_async_hooks_and_queued_counts(make_async_client) -> None:
    persons = {f"d{i}": i for i in range(30)}
    client, _ = make_async_client(server(queued=True, persons=persons))
    plans: list[BulkDeleteBatch] = []
    progress: list[BulkDeleteProgress] = []

    async def main() -> Any:
        async with client:
            return await client.bulk_delete(
                distinct_ids=list(persons), delete_events=True, batch_size=20,
                before_batch=plans.append, on_progress=progress.append,
            )  # fmt: skip

    result = run_async(main())
    assert [len(p.person_uuids or ()) for p in plans] == [20, 10]
    assert result.persons_queued == 30 and [p.persons_queued for p in progress] == [20, 30]


# --- the lookups of batch k+1 overlap batch k's delete ---------------------------------------


def test_the_next_batchs_lookups_run_while_this_batchs_delete_is_in_flight(make_client) -> None:
    """The delete of batch 1 is held until the lookup of batch 2 has arrived: only an overlap
    lets the job finish (a sequential one would time out the wait and fail the test)."""
    import threading

    persons = {f"d{i}": i for i in range(1500)}
    serve = server(persons=persons)
    second_lookup = threading.Event()
    order: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        data = body(request)
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            order.append(f"lookup {data['distinct_ids'][0]}")
            if data["distinct_ids"][0] == "d1000":
                second_lookup.set()
        else:
            order.append(f"delete {data['distinct_ids'][0]}")
            if data["distinct_ids"][0] == "d0":
                assert second_lookup.wait(timeout=10), "batch 2's lookup never overlapped"
        return serve(request)

    client, _ = make_client(handle)
    plans: list[BulkDeleteBatch] = []
    result = client.bulk_delete(distinct_ids=list(persons), delete_events=True,
                                before_batch=plans.append)  # fmt: skip
    assert result.persons_found == 1500 and len(result.person_uuids) == 1500
    assert order.index("lookup d1000") < order.index("delete d1000")
    assert [len(p.person_uuids or ()) for p in plans] == [1000, 500]


def test_a_lookup_failing_ahead_stops_after_the_batch_in_flight_is_recorded(make_client) -> None:
    persons = {f"d{i}": i for i in range(2500)}
    serve = server(persons=persons)

    def handle(request: httpx.Request) -> httpx.Response:
        lookup = request.url.path.endswith("/batch_by_distinct_ids/")
        if lookup and body(request)["distinct_ids"][0] == "d1200":  # batch 2's 2nd lookup
            return httpx.Response(503, json={"detail": "down"})
        return serve(request)

    client, recorder = make_client(handle, max_retries=0)
    progress: list[BulkDeleteProgress] = []
    ids = list(persons)
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(distinct_ids=ids, delete_events=True, on_progress=progress.append)
    error = caught.value
    assert [p.batches_done for p in progress] == [1] and error.result.persons_deleted == 1000
    assert error.remaining == ids[1000:] and isinstance(error, ServerError)
    deletes = [r for r in recorder.requests if r.url.path.endswith("/bulk_delete/")]
    assert len(deletes) == 1


def test_a_delete_failing_while_the_next_batch_was_read_ahead_keeps_both(make_client) -> None:
    persons = {f"d{i}": i for i in range(2500)}
    client, _ = make_client(server(persons=persons, fail_batch=1), max_retries=0)
    source = iter(list(persons))  # an iterator: the read-ahead batch must not be lost
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(distinct_ids=source, delete_events=True)
    error = caught.value
    assert error.remaining == list(persons)[:2000]
    assert list(error.resume_ids()) == list(persons)


def test_a_bad_id_read_ahead_is_raised_after_the_batch_in_flight(make_client) -> None:
    persons = {f"d{i}": i for i in range(1000)}
    client, _ = make_client(server(persons=persons))
    source = iter([*persons, "d1000", "bad\x00id", "d1001"])
    progress: list[BulkDeleteProgress] = []
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(distinct_ids=source, delete_events=True, on_progress=progress.append)
    assert [p.batches_done for p in progress] == [1]
    assert caught.value.result.persons_deleted == 1000
    assert list(caught.value.resume_ids()) == ["d1000", "d1001"]
    assert isinstance(caught.value, InvalidInputError)


def test_async_lookups_overlap_the_delete_too(make_async_client) -> None:
    import asyncio

    persons = {f"d{i}": i for i in range(1500)}
    serve = server(persons=persons)
    in_flight: set[str] = set()
    overlapped = False

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal overlapped
        kind = "lookup" if request.url.path.endswith("/batch_by_distinct_ids/") else "delete"
        in_flight.add(kind)
        overlapped = overlapped or in_flight == {"lookup", "delete"}
        await asyncio.sleep(0.01)
        in_flight.discard(kind)
        return serve(request)

    client, _ = make_async_client(handle)

    async def main() -> Any:
        async with client:
            return await client.bulk_delete(distinct_ids=list(persons), delete_events=True)

    assert run_async(main()).persons_found == 1500 and overlapped
