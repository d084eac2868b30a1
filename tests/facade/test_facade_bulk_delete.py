"""bulk_delete: streaming batches of 1000, validation before requests, nothing lost on failure."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from facade_support import body, person_json, person_uuid, run_async, uuid_lookup

from posthog_persons import (
    BulkDeleteError,
    BulkDeleteInputError,
    BulkDeleteProgress,
    InvalidInputError,
    RateLimitError,
    ServerError,
)


def summary_server(**extra: Any):
    """Answers bulk_delete as the server does: every id found, unless it contains 'gone'."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch_by_uuids/"):
            return uuid_lookup(request)
        data = body(request)
        ids = data.get("ids") or data.get("distinct_ids")
        found = [i for i in ids if "gone" not in i]
        return httpx.Response(
            202,
            json={
                "persons_found": len(found),
                "persons_deleted": len(found),
                "events_queued_for_deletion": data["delete_events"],
                "recordings_queued_for_deletion": data["delete_recordings"],
                "deletion_errors": [],
                **extra,
            },
        )

    return handle


def uuids(n: int, start: int = 0) -> list[str]:
    return [person_uuid(i) for i in range(start, start + n)]


def test_2500_ids_are_exactly_3_calls_of_at_most_1000_never_both_lists(make_client) -> None:
    client, recorder = make_client(summary_server())
    result = client.bulk_delete(ids=uuids(2500))
    bodies = recorder.bodies()
    assert recorder.paths() == ["/api/projects/1/persons/bulk_delete/"] * 3
    assert [len(b["ids"]) for b in bodies] == [1000, 1000, 500]
    assert all("distinct_ids" not in b for b in bodies)
    assert [recorder.requests[0].url.params.get(k) for k in ("ids", "distinct_ids")] == [None, None]
    assert functools.reduce(operator.iadd, (b["ids"] for b in bodies), []) == uuids(2500)
    assert (result.requested, result.persons_found, result.persons_deleted, result.batches) == (
        2500, 2500, 2500, 3
    )  # fmt: skip
    assert result.person_uuids == tuple(uuids(2500))
    assert result.errors == ()


def test_a_generator_of_ids_is_streamed_lazily(make_client) -> None:
    client, recorder = make_client(summary_server())
    pulled = 0

    def generate() -> Iterator[str]:
        nonlocal pulled
        for i in range(2001):
            pulled += 1
            yield f"user-{i}"

    seen_when_sent: list[int] = []
    client._http.event_hooks["request"].append(lambda r: seen_when_sent.append(pulled))
    result = client.bulk_delete(distinct_ids=generate())
    assert seen_when_sent == [1000, 2000, 2001]
    assert [len(b["distinct_ids"]) for b in recorder.bodies()] == [1000, 1000, 1]
    assert result.requested == 2001
    assert result.person_uuids == ()  # no events/recordings: no need to resolve


def test_duplicates_are_removed_and_uuids_canonicalised(make_client) -> None:
    client, recorder = make_client(summary_server())
    one = person_uuid(1)
    result = client.bulk_delete(ids=[one, one.upper(), "{" + one + "}", person_uuid(2), one])
    assert recorder.bodies()[0]["ids"] == [one, person_uuid(2)]
    assert result.requested == 2
    client, recorder = make_client(summary_server())
    client.bulk_delete(distinct_ids=itertools.chain(["a", "b"] * 700, ["c"]))
    assert [b["distinct_ids"] for b in recorder.bodies()] == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "ids= .* or distinct_ids="),
        ({"ids": [person_uuid(1)], "distinct_ids": ["a"]}, "not both"),
        ({"ids": person_uuid(1)}, "not a single string"),
        ({"distinct_ids": "user-1"}, "not a single string"),
        ({"distinct_ids": b"user-1"}, "not a single string"),
        ({"ids": 42}, "iterable of ids, got 42"),
        ({"ids": {"a": 1}}, "iterable"),
        ({"ids": [person_uuid(1), "user-7"]}, "'user-7' is not a valid person UUID.*distinct_ids="),
        ({"ids": [person_uuid(1), ""]}, "'' is not a valid person UUID"),
        ({"ids": [None]}, "None is not a valid person UUID"),
        ({"distinct_ids": ["a", ""]}, "empty distinct id"),
        ({"distinct_ids": ["a", "  "]}, "empty distinct id"),
        ({"distinct_ids": ["a", 7]}, "distinct ids are strings; got 7"),
        ({"ids": iter(["not-a-uuid"])}, "'not-a-uuid' is not a valid person UUID"),
        ({"ids": [person_uuid(1)], "keep_person": True}, "keep_person"),
        ({"ids": [person_uuid(1)], "on_progress": 5}, "on_progress"),
        ({"ids": [*uuids(5000), "bad"]}, "'bad' is not a valid person UUID"),
    ],
)
def test_bad_input_is_rejected_before_any_request(make_client, kwargs, message) -> None:
    client, recorder = make_client(summary_server())
    with pytest.raises(InvalidInputError, match=message):
        client.bulk_delete(**kwargs)
    assert recorder.requests == []


def test_empty_input_sends_nothing(make_client) -> None:
    client, recorder = make_client(summary_server())
    result = client.bulk_delete(ids=[])
    assert (result.requested, result.batches, recorder.requests) == (0, 0, [])


def test_a_bad_id_in_batch_7_of_an_iterator_stops_before_its_batch(make_client) -> None:
    client, recorder = make_client(summary_server())
    source = itertools.chain(uuids(6500), ["oops"], uuids(10, start=9000))
    with pytest.raises(BulkDeleteInputError, match="'oops' is not a valid person UUID") as caught:
        client.bulk_delete(ids=source)
    error = caught.value
    assert isinstance(error, InvalidInputError) and isinstance(error, BulkDeleteError)
    assert len(recorder.requests) == 6
    assert (error.result.batches, error.result.persons_deleted, error.persons_deleted) == (
        6,
        6000,
        6000,
    )
    assert error.remaining == uuids(500, start=6000)
    assert list(error.unconsumed) == uuids(10, start=9000)


def test_a_failed_batch_raises_with_counts_and_remaining_to_resume(make_client, clock) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls >= 3:
            return httpx.Response(503, json={"detail": "down"})
        return summary_server()(request)

    client, recorder = make_client(handler, max_retries=2)
    ids = uuids(3500)
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(ids=ids)
    error = caught.value
    assert isinstance(error.cause, ServerError) and error.__cause__ is error.cause
    assert "2000 person(s) deleted" in str(error) and "1500 id(s) not confirmed" in str(error)
    assert (error.result.batches, error.result.requested, error.persons_deleted) == (2, 2000, 2000)
    assert error.remaining == ids[2000:]  # the failed batch and everything after it
    assert len(recorder.requests) == 2 + 3  # the failed batch was tried 1 + max_retries times

    client2, recorder2 = make_client(summary_server())
    resumed = client2.bulk_delete(ids=error.resume_ids())
    assert resumed.requested == 1500
    sent = [i for b in recorder.bodies()[:2] + recorder2.bodies() for i in b["ids"]]
    assert sorted(sent) == sorted(ids)


def test_a_failed_batch_of_a_generator_keeps_the_rest_unconsumed(make_client) -> None:
    statuses = iter([202, 429])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(statuses, 429) == 429:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return summary_server()(request)

    client, _ = make_client(handler, max_retries=1)
    source = (person_uuid(i) for i in range(2600))
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(ids=source)
    error = caught.value
    assert isinstance(error.cause, RateLimitError) and error.cause.retry_after == 1
    assert error.remaining == uuids(1000, start=1000)
    assert error.unconsumed is source
    assert list(error.resume_ids()) == uuids(1600, start=1000)


def test_on_progress_after_every_batch(make_client) -> None:
    client, _ = make_client(summary_server())
    progress: list[BulkDeleteProgress] = []
    client.bulk_delete(
        distinct_ids=[f"u{i}" for i in range(1999)] + ["gone-1"], on_progress=progress.append
    )
    totals = [(p.batches_done, p.ids_sent, p.persons_found, p.persons_deleted, p.errors)
              for p in progress]  # fmt: skip
    assert totals == [(1, 1000, 1000, 1000, 0), (2, 2000, 1999, 1999, 0)]
    assert all(isinstance(p, BulkDeleteProgress) for p in progress)
    assert [
        (p.batch.number, p.batch.ids_sent, p.batch.persons_found) for p in progress if p.batch
    ] == [
        (1, 1000, 1000),
        (2, 1000, 999),
    ]


def test_deletion_errors_and_unknown_summary_fields_are_kept(make_client) -> None:
    failing = person_uuid(3)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch_by_uuids/"):
            return uuid_lookup(request)
        ids = body(request)["ids"]
        return httpx.Response(
            202,
            json={
                "persons_found": len(ids),
                "persons_deleted": len(ids) - 1,
                "deletion_errors": [{"person_uuid": failing, "reason": "locked"}],
                "persons_queued_for_deletion": len(ids),
                "events_queued_for_deletion": True,
                "shard": "a",
            },
        )

    client, _ = make_client(handler)
    result = client.bulk_delete(ids=uuids(1500), delete_events=True)
    assert result.errors == (failing, failing)
    assert failing not in result.person_uuids and len(result.person_uuids) == 1499
    assert result.extra == {"shard": "a"}
    assert result.persons_queued == 1500
    assert result.events_queued_for_deletion and not result.recordings_queued_for_deletion
    assert result.persons_deleted == 1498


def test_a_summary_missing_optional_fields_is_not_fatal(make_client) -> None:
    answer = {"persons_found": 2, "persons_deleted": 2}
    client, _ = make_client(lambda r: httpx.Response(202, json=answer))
    result = client.bulk_delete(ids=uuids(2))
    assert (result.persons_found, result.persons_deleted, result.errors) == (2, 2, ())
    assert (result.persons_queued, result.events_queued_for_deletion) == (0, False)


def test_distinct_ids_with_delete_events_are_resolved_to_uuids_for_tracking(make_client) -> None:
    known = {f"user-{i}": person_json(i) for i in range(450) if i % 3}

    def handler(request: httpx.Request) -> httpx.Response:
        data = body(request)
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            hits = {
                d: {**known[d], "distinct_ids": [d]} for d in data["distinct_ids"] if d in known
            }
            return httpx.Response(200, json={"results": hits})
        return summary_server()(request)

    client, recorder = make_client(handler)
    ids = [f"user-{i}" for i in range(450)]
    result = client.bulk_delete(distinct_ids=ids, delete_events=True, delete_recordings=True)
    kinds = [p.rsplit("/", 2)[1] for p in recorder.paths()]
    assert kinds == ["batch_by_distinct_ids"] * 3 + ["bulk_delete"]
    assert [len(b["distinct_ids"]) for b in recorder.bodies()] == [200, 200, 50, 450]
    assert recorder.bodies()[-1]["delete_events"] is True
    assert "ids" not in recorder.bodies()[-1]
    assert result.person_uuids == tuple(known[d]["uuid"] for d in ids if d in known)


def test_flags_are_sent_in_the_body(make_client) -> None:
    client, recorder = make_client(summary_server())
    client.bulk_delete(ids=uuids(1), delete_recordings=True, keep_person=True)
    assert recorder.paths()[-1].endswith("/bulk_delete/")
    assert recorder.bodies()[-1] == {
        "ids": uuids(1), "delete_events": False, "delete_recordings": True, "keep_person": True
    }  # fmt: skip
    assert dict(recorder.requests[-1].url.params) == {}


def test_async_bulk_delete(make_async_client) -> None:
    client, recorder = make_async_client(summary_server())
    progress: list[BulkDeleteProgress] = []

    async def main():
        async with client:
            return await client.bulk_delete(ids=iter(uuids(2500)), on_progress=progress.append)

    result = run_async(main())
    assert [len(b["ids"]) for b in recorder.bodies()] == [1000, 1000, 500]
    assert result.requested == 2500 and len(progress) == 3


def test_async_bulk_delete_failure_and_bad_input(make_async_client) -> None:
    statuses = iter([202])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(statuses, None) is None:
            return httpx.Response(400, json={"detail": "bad"})
        return summary_server()(request)

    client, recorder = make_async_client(handler)
    with pytest.raises(InvalidInputError):
        run_async(client.bulk_delete(ids=["nope"]))
    assert recorder.requests == []
    with pytest.raises(BulkDeleteError) as caught:
        run_async(client.bulk_delete(ids=uuids(1200)))
    assert caught.value.remaining == uuids(200, start=1000)
    assert len(recorder.requests) == 2  # a 400 is not retried


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": person_uuid(1).encode()}, "not a single string"),
        ({"distinct_ids": bytearray(b"user-1")}, "not a single string"),
        ({"distinct_ids": ["a", None]}, "distinct ids are strings; got None"),
        ({"distinct_ids": ["a", b"b"]}, "distinct ids are strings; got b'b'"),
        ({"ids": [person_uuid(1).encode()]}, "is not a valid person UUID"),
        ({"ids": None, "distinct_ids": None}, "ids= .* or distinct_ids="),
        ({"ids": iter([None])}, "None is not a valid person UUID"),
        ({"distinct_ids": (d for d in ["a", ""])}, "empty distinct id"),
    ],
)
def test_more_bad_input_is_rejected_before_any_request(make_client, kwargs, message) -> None:
    client, recorder = make_client(summary_server())
    with pytest.raises(InvalidInputError, match=message):
        client.bulk_delete(**kwargs)
    assert recorder.requests == []


def test_duplicates_across_batches_of_a_generator_are_sent_once(make_client) -> None:
    client, recorder = make_client(summary_server())
    first = uuids(1000)
    source = itertools.chain(first, [u.upper() for u in first[:300]], uuids(500, start=1000))
    result = client.bulk_delete(ids=(u for u in source))
    sent = [i for b in recorder.bodies() for i in b["ids"]]
    assert [len(b["ids"]) for b in recorder.bodies()] == [1000, 500]
    assert sent == uuids(1500) and result.requested == 1500
    assert result.person_uuids == tuple(uuids(1500))


def test_a_failed_lookup_while_resolving_distinct_ids_loses_nothing(make_client) -> None:
    deletes = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal deletes
        data = body(request)
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            if data["distinct_ids"][0] == "user-1200":  # the 2nd batch's 2nd lookup
                return httpx.Response(403, json={"detail": "missing scope person:read"})
            hits = {d: person_json(int(d.split("-")[1])) for d in data["distinct_ids"]}
            return httpx.Response(200, json={"results": hits})
        deletes += 1
        return summary_server()(request)

    client, _ = make_client(handler)
    ids = [f"user-{i}" for i in range(2500)]
    with pytest.raises(BulkDeleteError, match=r"1000 person\(s\) deleted") as caught:
        client.bulk_delete(distinct_ids=ids, delete_events=True)
    error = caught.value
    assert deletes == 1
    assert error.remaining == ids[1000:]
    assert "person:read" in str(error) and error.cause.missing_scope == "person:read"  # type: ignore[attr-defined]
    assert error.result.person_uuids == tuple(person_uuid(i) for i in range(1000))


def test_resolved_uuids_are_tracked_once_across_batches(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = body(request)
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            # every distinct id belongs to one of 3 persons
            hits = {d: person_json(int(d.split("-")[1]) % 3) for d in data["distinct_ids"]}
            return httpx.Response(200, json={"results": hits})
        return summary_server()(request)

    client, _ = make_client(handler)
    result = client.bulk_delete(distinct_ids=[f"d-{i}" for i in range(1500)], delete_events=True)
    assert result.person_uuids == (person_uuid(0), person_uuid(1), person_uuid(2))


def test_deletion_errors_in_other_casing_are_still_excluded(make_client) -> None:
    failing = person_uuid(1)

    def handler(request: httpx.Request) -> httpx.Response:
        n = len(body(request)["ids"])
        return httpx.Response(
            202,
            json={"persons_found": n, "persons_deleted": n - 1,
                  "deletion_errors": [{"person_uuid": failing.upper()}]},
        )  # fmt: skip

    client, _ = make_client(handler)
    result = client.bulk_delete(ids=uuids(3))
    assert result.errors == (failing,)
    assert result.person_uuids == (person_uuid(0), person_uuid(2))


def test_async_bad_input_and_cross_batch_duplicates(make_async_client) -> None:
    client, recorder = make_async_client(summary_server())

    async def main() -> Any:
        async with client:
            for kwargs in [{"ids": person_uuid(1)}, {"distinct_ids": b"x"}, {},
                           {"ids": [person_uuid(1)], "distinct_ids": ["a"]},
                           {"distinct_ids": ["a", ""]}, {"ids": 5}]:  # fmt: skip
                with pytest.raises(InvalidInputError):
                    await client.bulk_delete(**kwargs)
            assert recorder.requests == []
            source = itertools.chain(uuids(1000), uuids(10), uuids(5, start=1000))
            return await client.bulk_delete(ids=source)

    result = run_async(main())
    assert [len(b["ids"]) for b in recorder.bodies()] == [1000, 5]
    assert result.requested == 1005


def test_async_a_failed_batch_of_a_generator_can_be_resumed(make_async_client) -> None:
    statuses = iter([202, 503])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(statuses, 503) == 503:
            return httpx.Response(503, json={"detail": "try later"})
        return summary_server()(request)

    client, recorder = make_async_client(handler, max_retries=2)
    source = (person_uuid(i) for i in range(2600))

    async def main() -> None:
        async with client:
            await client.bulk_delete(ids=source)

    with pytest.raises(BulkDeleteError, match="try later") as caught:
        run_async(main())
    error = caught.value
    assert error.persons_deleted == 1000 and "1000 person(s) deleted" in str(error)
    assert error.remaining == uuids(1000, start=1000)
    assert list(error.resume_ids()) == uuids(1600, start=1000)
    assert len(recorder.requests) == 1 + 3
