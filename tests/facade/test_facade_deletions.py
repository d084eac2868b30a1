"""deletion_status and wait_for_deletions: "done" means erased; cost per round, drift guard,
timeouts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from facade_support import page, person_json, person_uuid, query, run_async

from posthog_persons import (
    DeletionStatus,
    DeletionWaitResult,
    InvalidInputError,
    NotFoundError,
    _jobs,
)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 100 deletion records, so that a few hundred records span several pages."""
    monkeypatch.setattr(_jobs, "STATUS_PAGE_SIZE", 100)
    return 100


class DeletionServer:
    """deletion_status over a mutable list of records (newest first), and the UUID lookup
    over the persons that still exist (`alive`: none unless given)."""

    def __init__(
        self,
        pending: list[str],
        completed: list[str] = (),  # type: ignore[assignment]
        alive: set[str] | None = None,
    ) -> None:
        self.alive = set(alive or ())
        self.lookups: list[list[str]] = []
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
        if request.url.path == "/api/projects/1/persons/batch_by_uuids/":
            wanted = json.loads(request.content)["uuids"]
            self.lookups.append(wanted)
            return httpx.Response(
                200, json={"results": {u: person_json(0, uuid=u) for u in wanted[:200]
                                       if u in self.alive}}
            )  # fmt: skip
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


def test_deletion_status_pages_through_everything(make_client, small_pages) -> None:
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


def test_deletion_status_for_many_uuids_pages_once_and_filters(make_client, small_pages) -> None:
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


def statuses(recorder: Any) -> list[str | None]:
    """The `status` asked for by each deletion_status request, None for a lookup."""
    return [
        query(r).get("status") if r.url.path.endswith("/deletion_status/") else None
        for r in recorder.requests
    ]


# --- wait_for_deletions: done means erased -------------------------------------------------


def test_done_only_when_events_are_completed_and_the_persons_are_gone(make_client, clock) -> None:
    """A newer server queues the profile deletion: the events complete while the persons still
    exist; the wait goes on until the lookup no longer finds them."""
    wanted = uuids(25)
    server = DeletionServer(wanted, alive=set(wanted))

    def handler(request: httpx.Request) -> httpx.Response:
        response = server(request)
        if request.url.path.endswith("/deletion_status/"):
            server.complete(set(wanted))  # completed once the first round has seen them pending
        elif len(server.lookups) == 1:
            server.alive.clear()  # the profiles vanish after the first lookup
        return response

    client, recorder = make_client(handler)
    result = client.wait_for_deletions(wanted, timeout=3600, poll_interval=60)
    assert result == DeletionWaitResult(completed=tuple(wanted), pending=(), done=True)
    # round 1: every status (all pending: no lookup); round 2: the pending list (empty), then
    # the lookup (all still there); round 3: the lookup only (all gone)
    assert statuses(recorder) == ["all", "pending", None, None]
    assert server.lookups == [wanted, wanted]
    assert clock.sleeps == [60, 60]


def test_persons_still_existing_at_the_timeout_are_named(make_client, clock) -> None:
    wanted = uuids(4)
    server = DeletionServer([], completed=wanted, alive={person_uuid(1)})
    client, _ = make_client(server)
    result = client.wait_for_deletions(wanted, timeout=100, poll_interval=60)
    assert (result.done, result.still_existing, result.pending) == (False, (person_uuid(1),), ())
    assert result.completed == (person_uuid(0), person_uuid(2), person_uuid(3))
    assert server.lookups == [wanted, [person_uuid(1)], [person_uuid(1)]]  # gone ones: once


def test_a_uuid_without_a_record_is_unknown_never_completed(make_client, clock) -> None:
    """Issue 11 #6: another project, lost records, an id that matched no one."""
    server = DeletionServer([], completed=uuids(2))
    client, _ = make_client(server)
    wanted = [*uuids(2), person_uuid(77)]
    result = client.wait_for_deletions(wanted, timeout=3600, poll_interval=60)
    assert result.unknown == (person_uuid(77),) and result.done is False
    assert result.completed == tuple(uuids(2))
    assert clock.sleeps == []  # nothing can change: no record appears later, no need to wait
    many = [*uuids(25, start=500), person_uuid(1)]  # the scan path (more than 20 UUIDs)
    result = client.wait_for_deletions(many, timeout=0)
    assert result.unknown == tuple(uuids(25, start=500)) and result.completed == (person_uuid(1),)


def test_a_record_appearing_later_turns_unknown_into_pending(make_client, clock, small_pages):
    wanted = uuids(30)
    server = DeletionServer(uuids(20))
    client, _ = make_client(server)
    result = client.wait_for_deletions(wanted, timeout=0)
    assert result.unknown == tuple(uuids(10, start=20))
    server.records.insert(0, {**server.records[0], "person_uuid": person_uuid(25)})
    server.complete(set(uuids(20)))
    seen: list[DeletionWaitResult] = []
    server.before_page = lambda srv, offset: None
    seen.append(client.wait_for_deletions(wanted, timeout=0))
    assert person_uuid(25) in seen[0].completed + seen[0].pending


def test_the_first_round_reads_every_status_later_rounds_the_pending_list(
    make_client, clock, small_pages
) -> None:
    wanted = uuids(300)
    server = DeletionServer(uuids(150), completed=uuids(150, start=150))
    client, recorder = make_client(server)
    rounds = 0

    def before_page(srv: DeletionServer, offset: int) -> None:
        nonlocal rounds
        if offset == 0:
            rounds += 1
            if rounds == 3:
                srv.complete(set(uuids(150)))

    server.before_page = before_page
    result = client.wait_for_deletions(wanted, timeout=3600, poll_interval=60)
    assert result.done and result.completed == tuple(wanted)
    # round 1: 300 records of every status (3 full pages, the empty 4th), and a lookup of the
    # 150 completed (gone); rounds 2 and 3: the pending list (150: 2 pages, then none: 1 page),
    # and at last a lookup of the 150 completed since
    assert statuses(recorder) == ["all"] * 4 + [None] + ["pending"] * 3 + [None]
    assert server.lookups == [uuids(150, start=150), uuids(150)]


def test_a_round_costs_the_same_for_30_or_5000_uuids(make_client, small_pages) -> None:
    costs = []
    for n in (30, 5000):
        client, recorder = make_client(DeletionServer(uuids(430)))
        client.wait_for_deletions(uuids(n), timeout=0)
        costs.append(len(recorder.requests))
    assert costs == [math.ceil(430 / 100)] * 2


def test_up_to_20_uuids_are_asked_for_one_by_one(make_client) -> None:
    server = DeletionServer(uuids(5000))
    client, recorder = make_client(server)
    client.wait_for_deletions(uuids(3), timeout=0)
    assert [query(r).get("person_uuid") for r in recorder.requests] == uuids(3)


def test_keep_person_waits_for_the_events_only(make_client) -> None:
    wanted = uuids(2)
    server = DeletionServer([], completed=wanted, alive=set(wanted))
    client, _ = make_client(server)
    result = client.wait_for_deletions(wanted, timeout=0, keep_person=True)
    assert result.done and server.lookups == []


def test_without_delete_events_only_the_persons_are_awaited(make_client, clock) -> None:
    wanted = uuids(2)
    server = DeletionServer([], alive={person_uuid(0)})
    client, recorder = make_client(server)
    result = client.wait_for_deletions(wanted, timeout=0, delete_events=False)
    assert (result.still_existing, result.completed, result.unknown) == (
        (person_uuid(0),), (person_uuid(1),), ()
    )  # fmt: skip
    assert statuses(recorder) == [None]


def test_wait_returns_at_the_timeout_without_raising(make_client, clock) -> None:
    server = DeletionServer(uuids(5), completed=uuids(2, start=5))
    client, recorder = make_client(server)
    start = clock.now
    result = client.wait_for_deletions(uuids(7), timeout=150, poll_interval=60)
    assert result.done is False
    assert result.pending == tuple(uuids(5)) and result.completed == tuple(uuids(2, start=5))
    assert clock.now - start == 150 and clock.sleeps == [60, 60, 30]
    # 7 UUIDs asked for one by one and the 2 completed looked up (gone), then 5 a round
    assert len(recorder.requests) == 7 + 1 + 3 * 5


def test_wait_with_nothing_to_wait_for(make_client) -> None:
    client, recorder = make_client(DeletionServer(uuids(3)))
    assert client.wait_for_deletions([], timeout=10) == DeletionWaitResult((), (), True)
    assert recorder.requests == []


def test_offset_drift_is_detected_and_rescanned(make_client, clock, small_pages) -> None:
    """Deletions completing while a round pages would skip records and look completed."""
    server = DeletionServer(uuids(250))
    late = person_uuid(249)  # on the last page; shifts onto page 2 once 50 records complete
    wanted = [late, *uuids(30, start=1000)]  # more than 20: the scans
    client, recorder = make_client(server)
    shrunk = False

    def before_page(srv: DeletionServer, offset: int) -> None:
        nonlocal shrunk
        if statuses(recorder)[-1] == "pending" and offset == 200 and not shrunk:
            shrunk = True
            srv.complete(set(uuids(50)))

    server.before_page = before_page
    result = client.wait_for_deletions(wanted, timeout=60, poll_interval=60)
    assert result.pending == (late,) and result.done is False
    # round 1: every status (3 pages); round 2: the drifting pending scan (3 pages, its last
    # empty: `late` was skipped), then a stable rescan of the 200 left (3 pages)
    assert statuses(recorder) == ["all"] * 3 + ["pending"] * 6


def test_a_round_that_never_stabilises_marks_nothing_completed(make_client, small_pages) -> None:
    server = DeletionServer(uuids(400))
    client, recorder = make_client(server)
    remaining = list(reversed(uuids(400)))
    wanted = [person_uuid(399), *uuids(30, start=1000)]

    def before_page(srv: DeletionServer, offset: int) -> None:
        if statuses(recorder)[-1] == "pending" and offset > 0 and remaining:
            srv.complete({remaining.pop(), remaining.pop()})  # always shrinking while we page

    server.before_page = before_page
    result = client.wait_for_deletions(wanted, timeout=60, poll_interval=60)
    assert result.pending == (person_uuid(399),)


def test_transient_errors_do_not_fail_the_wait(make_client, clock) -> None:
    server = DeletionServer([], completed=[person_uuid(0)], alive={person_uuid(0)})
    answers = iter([httpx.Response(503)] * 6 + [httpx.Response(429)] * 6)
    lookups = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal lookups
        if request.url.path.endswith("/batch_by_uuids/"):
            lookups += 1
            if lookups == 2:
                server.alive.clear()
            elif lookups == 1:
                return httpx.Response(502)
        return next(answers, None) or server(request)

    client, _ = make_client(handler, max_retries=0)
    result = client.wait_for_deletions([person_uuid(0)], timeout=6000, poll_interval=100)
    assert result.done is True and result.completed == (person_uuid(0),)
    # 12 failed rounds of the records, a 13th that reads them and fails its lookup, a 14th
    assert len(clock.sleeps) == 13


def test_non_transient_errors_do_raise(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(404, json={"detail": "Not found."}))
    with pytest.raises(NotFoundError):
        client.wait_for_deletions(uuids(1), timeout=10)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": -1}, {"timeout": "10"}, {"timeout": 10, "poll_interval": 0},
     {"timeout": 1, "delete_events": "yes"},
     {"timeout": 1, "delete_events": False, "keep_person": True}],
)  # fmt: skip
def test_wait_bad_input_sends_nothing(make_client, kwargs) -> None:
    client, recorder = make_client(DeletionServer([]))
    with pytest.raises(InvalidInputError):
        client.wait_for_deletions(uuids(1), **kwargs)
    with pytest.raises(InvalidInputError):
        client.wait_for_deletions(person_uuid(1), timeout=1)
    assert recorder.requests == []


def test_a_wait_through_rate_limits_returns_at_the_timeout(make_client, clock) -> None:
    client, recorder = make_client(
        lambda r: httpx.Response(429, headers={"Retry-After": "30"}), max_retries=1
    )
    start = clock.now
    result = client.wait_for_deletions(uuids(2), timeout=200, poll_interval=60)
    # records never read count as pending (not as unknown: nothing said there is none)
    assert result == DeletionWaitResult(completed=(), pending=tuple(uuids(2)), done=False)
    # each round: one 429, 30 s, one more 429 (the retry), then the round is inconclusive;
    # rounds at 0, 90, 180: the last one's retry wait carries the return 10 s past the timeout
    # (a known limit: retries inside a request do not know the wait's deadline)
    assert clock.now - start == pytest.approx(210) and len(recorder.requests) == 6


def test_async_wait_is_the_same_flow(make_async_client, clock) -> None:
    wanted = uuids(120)
    server = DeletionServer(wanted, alive=set(wanted))
    client, _ = make_async_client(server)
    rounds = 0

    def before_page(srv: DeletionServer, offset: int) -> None:
        nonlocal rounds
        rounds += offset == 0
        if rounds == 2:
            srv.complete(set(wanted))
            srv.alive.clear()

    async def main() -> tuple[list[DeletionStatus], DeletionWaitResult, DeletionWaitResult]:
        async with client:
            records = [r async for r in client.deletion_status(status="pending")]
            once = await client.wait_for_deletions(wanted, timeout=0)
            server.before_page = before_page
            result = await client.wait_for_deletions(wanted, timeout=1000, poll_interval=30)
            return records, once, result

    records, once, result = run_async(main())
    assert len(records) == 120 and once.pending == tuple(wanted)
    assert result.done is True and clock.sleeps == [30]
    assert [len(chunk) for chunk in server.lookups] == [120]


def test_persons_are_looked_up_200_a_request(make_client) -> None:
    wanted = uuids(450)
    server = DeletionServer([], alive=set())
    client, _ = make_client(server)
    result = client.wait_for_deletions(wanted, timeout=0, delete_events=False)
    assert result.done and [len(chunk) for chunk in server.lookups] == [200, 200, 50]
