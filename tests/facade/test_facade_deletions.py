"""deletion_status and wait_for_deletions: cost per round, drift guard, timeouts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from facade_support import page, person_uuid, query, run_async

from posthog_persons import DeletionStatus, DeletionWaitResult, InvalidInputError, NotFoundError


class DeletionServer:
    """The deletion_status endpoint over a mutable list of records (newest first)."""

    def __init__(self, pending: list[str], completed: list[str] = ()) -> None:  # type: ignore[assignment]
        self.records: list[dict[str, Any]] = [
            {"person_uuid": u, "status": "pending", "created_at": "2026-03-01T00:00:00Z",
             "delete_verified_at": None} for u in pending
        ] + [
            {"person_uuid": u, "status": "completed", "created_at": "2026-02-01T00:00:00Z",
             "delete_verified_at": "2026-02-08T05:00:00Z"} for u in completed
        ]  # fmt: skip
        self.before_page: Callable[[DeletionServer, int], None] | None = None

    def complete(self, uuids: set[str]) -> None:
        for record in self.records:
            if record["person_uuid"] in uuids:
                record.update(status="completed", delete_verified_at="2026-03-08T05:00:00Z")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/projects/1/persons/deletion_status/"
        q = query(request)
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        if self.before_page:
            self.before_page(self, offset)
        status, wanted = q.get("status", "all"), q.get("person_uuid")
        rows = [
            r for r in self.records
            if status in ("all", r["status"]) and wanted in (None, r["person_uuid"])
        ]  # fmt: skip
        return page(rows[offset : offset + limit], request, len(rows))


def uuids(n: int, start: int = 0) -> list[str]:
    return [person_uuid(i) for i in range(start, start + n)]


def test_deletion_status_pages_through_everything(make_client) -> None:
    server = DeletionServer(uuids(150), completed=uuids(60, start=500))
    client, recorder = make_client(server)
    records = list(client.deletion_status())
    assert len(records) == 210 and len(recorder.requests) == 3
    first = records[0]
    assert isinstance(first, DeletionStatus)
    assert (first.person_uuid, first.status, first.delete_verified_at) == (
        person_uuid(0),
        "pending",
        None,
    )
    assert [r.status for r in client.deletion_status(status="completed")] == ["completed"] * 60


def test_deletion_status_for_a_few_uuids_asks_per_uuid(make_client) -> None:
    server = DeletionServer(uuids(300))
    client, recorder = make_client(server)
    wanted = [person_uuid(3), person_uuid(250).upper(), person_uuid(999)]
    records = list(client.deletion_status(person_uuids=wanted, status="pending"))
    assert [r.person_uuid for r in records] == [person_uuid(3), person_uuid(250)]
    assert [query(r).get("person_uuid") for r in recorder.requests] == [
        person_uuid(3), person_uuid(250), person_uuid(999)
    ]  # fmt: skip
    assert {query(r)["status"] for r in recorder.requests} == {"pending"}


def test_deletion_status_for_many_uuids_pages_once_and_filters(make_client) -> None:
    server = DeletionServer(uuids(300))
    client, recorder = make_client(server)
    wanted = uuids(50, start=100)
    records = list(client.deletion_status(person_uuids=wanted))
    assert [r.person_uuid for r in records] == wanted
    assert len(recorder.requests) == 4  # 300 records: 3 full pages and the trailing empty one
    assert all("person_uuid" not in query(r) for r in recorder.requests)


@pytest.mark.parametrize(
    "kwargs",
    [{"status": "done"}, {"person_uuids": person_uuid(1)}, {"person_uuids": ["user-1"]}],
)
def test_deletion_status_bad_input_sends_nothing(make_client, kwargs) -> None:
    client, recorder = make_client(DeletionServer([]))
    with pytest.raises(InvalidInputError):
        client.deletion_status(**kwargs)
    assert recorder.requests == []


def test_unknown_status_values_and_fields_are_kept(make_client) -> None:
    record = {
        "person_uuid": person_uuid(1).upper(),
        "status": "failed",
        "created_at": "2026-03-01T00:00:00Z",
        "attempts": 3,
    }
    client, _ = make_client(lambda r: httpx.Response(200, json={"results": [record], "next": None}))
    (status,) = client.deletion_status()
    assert status.person_uuid == person_uuid(1)
    assert (status.status, status.extra, status.delete_verified_at) == (
        "failed",
        {"attempts": 3},
        None,
    )


def test_wait_costs_ceil_pending_over_100_per_round_and_completes(make_client, clock) -> None:
    wanted = uuids(1000)  # we wait for 1000 UUIDs, in a project with 250 pending deletions
    server = DeletionServer(uuids(250, start=900), completed=uuids(900))
    rounds: list[int] = []
    client, recorder = make_client(server)

    def before_page(srv: DeletionServer, offset: int) -> None:
        if offset == 0:
            rounds.append(len(recorder.requests))
            if len(rounds) == 2:
                srv.complete(set(uuids(250, start=900)))

    server.before_page = before_page
    result = client.wait_for_deletions(wanted, timeout=3600, poll_interval=60)
    assert result == DeletionWaitResult(completed=tuple(wanted), pending=(), done=True)
    assert len(recorder.requests) == math.ceil(250 / 100) + 1  # round 1: 3 pages; round 2: 1
    assert all(query(r)["status"] == "pending" for r in recorder.requests)
    assert clock.sleeps == [60]


def test_wait_returns_at_the_timeout_without_raising(make_client, clock) -> None:
    server = DeletionServer(uuids(5))
    client, recorder = make_client(server)
    start = clock.now
    result = client.wait_for_deletions(uuids(7), timeout=150, poll_interval=60)
    assert result.done is False
    assert result.pending == tuple(uuids(5)) and result.completed == tuple(uuids(2, start=5))
    assert clock.now - start == 150 and clock.sleeps == [60, 60, 30]
    assert len(recorder.requests) == 4


def test_wait_with_nothing_to_wait_for(make_client) -> None:
    client, recorder = make_client(DeletionServer(uuids(3)))
    assert client.wait_for_deletions([], timeout=10) == DeletionWaitResult((), (), True)
    assert recorder.requests == []


def test_wait_timeout_zero_polls_once(make_client, clock) -> None:
    client, recorder = make_client(DeletionServer(uuids(3)))
    result = client.wait_for_deletions(uuids(3), timeout=0)
    assert (result.done, len(recorder.requests), clock.sleeps) == (False, 1, [])


def test_offset_drift_is_detected_and_rescanned(make_client, clock) -> None:
    """Deletions completing while a round pages would skip records and look completed."""
    server = DeletionServer(uuids(250))
    late = person_uuid(249)  # on the last page; shifts onto page 2 once 50 records complete
    client, recorder = make_client(server)
    shrunk = False

    def before_page(srv: DeletionServer, offset: int) -> None:
        nonlocal shrunk
        if offset == 200 and not shrunk:
            shrunk = True
            srv.complete(set(uuids(50)))

    server.before_page = before_page
    result = client.wait_for_deletions([late], timeout=0)
    assert result.pending == (late,) and result.done is False
    # The drifting scan (3 pages; its last is empty: `late` was skipped), then a stable rescan
    # of the 200 left (2 full pages and the trailing empty one).
    assert len(recorder.requests) == 3 + 3


def test_a_round_that_never_stabilises_marks_nothing_completed(make_client, clock) -> None:
    server = DeletionServer(uuids(400))
    client, _recorder = make_client(server)
    remaining = list(reversed(uuids(400)))

    def before_page(srv: DeletionServer, offset: int) -> None:
        if offset > 0 and remaining:
            srv.complete({remaining.pop(), remaining.pop()})  # always shrinking while we page

    server.before_page = before_page
    result = client.wait_for_deletions([person_uuid(399)], timeout=0)
    assert result.pending == (person_uuid(399),)


def test_transient_errors_do_not_fail_the_wait(make_client, clock) -> None:
    server = DeletionServer(uuids(2))
    answers = iter([httpx.Response(503)] * 6 + [httpx.Response(429)] * 6)

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or server(request)

    client, recorder = make_client(handler)
    server.complete({person_uuid(0)})
    result = client.wait_for_deletions([person_uuid(0)], timeout=600, poll_interval=100)
    assert result.done is True and result.completed == (person_uuid(0),)
    assert len(recorder.requests) == 6 + 6 + 1


def test_non_transient_errors_do_raise(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(404, json={"detail": "Not found."}))
    with pytest.raises(NotFoundError):
        client.wait_for_deletions(uuids(1), timeout=10)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": -1}, {"timeout": "10"}, {"timeout": 10, "poll_interval": 0}],
)
def test_wait_bad_input_sends_nothing(make_client, kwargs) -> None:
    client, recorder = make_client(DeletionServer([]))
    with pytest.raises(InvalidInputError):
        client.wait_for_deletions(uuids(1), **kwargs)
    with pytest.raises(InvalidInputError):
        client.wait_for_deletions(person_uuid(1), timeout=1)
    assert recorder.requests == []


def test_async_deletion_status_and_wait(make_async_client, clock) -> None:
    server = DeletionServer(uuids(120))
    client, _recorder = make_async_client(server)
    polls = 0

    def before_page(srv: DeletionServer, offset: int) -> None:
        nonlocal polls
        if offset == 0:
            polls += 1
            if polls == 2:
                srv.complete(set(uuids(120)))

    async def main():
        async with client:
            records = [r async for r in client.deletion_status(status="pending")]
            server.before_page = before_page
            result = await client.wait_for_deletions(uuids(120), timeout=1000, poll_interval=30)
            return records, result

    records, result = run_async(main())
    assert len(records) == 120
    assert result.done is True and clock.sleeps == [30]


def test_wait_timeout_zero_is_exactly_one_scan_of_every_page(make_client, clock) -> None:
    """The CLI's `status --wait` drives the rounds itself and relies on this."""
    server = DeletionServer(uuids(250), completed=uuids(50, start=250))
    client, recorder = make_client(server)
    wanted = uuids(300)
    result = client.wait_for_deletions(wanted, timeout=0, poll_interval=60)
    assert (result.done, result.pending, result.completed) == (
        False, tuple(uuids(250)), tuple(uuids(50, start=250))
    )  # fmt: skip
    assert [query(r)["offset"] for r in recorder.requests] == ["0", "100", "200"]
    assert clock.sleeps == []
    server.complete(set(wanted))
    done = client.wait_for_deletions(wanted, timeout=0)
    assert done.done and len(recorder.requests) == 4


def test_a_wait_round_costs_the_same_for_10_or_5000_uuids(make_client) -> None:
    costs = []
    for n in (10, 5000):
        client, recorder = make_client(DeletionServer(uuids(430)))
        client.wait_for_deletions(uuids(n), timeout=0)
        costs.append(len(recorder.requests))
    assert costs == [math.ceil(430 / 100)] * 2


def test_a_wait_through_rate_limits_returns_at_the_timeout(make_client, clock) -> None:
    client, recorder = make_client(
        lambda r: httpx.Response(429, headers={"Retry-After": "30"}), max_retries=1
    )
    start = clock.now
    result = client.wait_for_deletions(uuids(2), timeout=200, poll_interval=60)
    assert result == DeletionWaitResult(completed=(), pending=tuple(uuids(2)), done=False)
    # each round: one 429, 30 s, one more 429 (the retry), then the round is inconclusive;
    # rounds at 0, 90, 180: the last one's retry wait carries the return 10 s past the timeout
    # (a known limit: retries inside a request do not know the wait's deadline)
    assert clock.now - start == pytest.approx(210) and len(recorder.requests) == 6


def test_async_wait_timeout_and_timeout_zero(make_async_client, clock) -> None:
    server = DeletionServer(uuids(150))
    client, recorder = make_async_client(server)

    async def main() -> tuple[DeletionWaitResult, DeletionWaitResult]:
        async with client:
            once = await client.wait_for_deletions(uuids(160), timeout=0)
            assert len(recorder.requests) == 2 and clock.sleeps == []
            late = await client.wait_for_deletions(uuids(160), timeout=90, poll_interval=60)
            return once, late

    once, late = run_async(main())
    for result in (once, late):
        assert result.done is False
        assert result.pending == tuple(uuids(150))
        assert result.completed == tuple(uuids(10, start=150))
    assert clock.sleeps == [60, 30] and len(recorder.requests) == 2 + 3 * 2


def test_async_deletion_status_per_uuid_and_bad_input(make_async_client) -> None:
    client, recorder = make_async_client(DeletionServer(uuids(300)))

    async def main() -> list[DeletionStatus]:
        async with client:
            with pytest.raises(InvalidInputError):
                client.deletion_status(person_uuids=person_uuid(1))
            with pytest.raises(InvalidInputError):
                await client.wait_for_deletions(uuids(1), timeout=-1)
            assert recorder.requests == []
            wanted = [person_uuid(3).upper(), person_uuid(999)]
            return [r async for r in client.deletion_status(person_uuids=wanted)]

    assert [r.person_uuid for r in run_async(main())] == [person_uuid(3)]
    assert len(recorder.requests) == 2
