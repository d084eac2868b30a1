"""Pacing at the server's real throttles, shared by every user of one key, on a fake clock."""

from __future__ import annotations

import asyncio
from collections import deque

import httpx
import pytest
from facade_support import FakeClock
from simulation import run_simulated

from posthog_persons import DEFAULT_RATE_LIMITS, Budget, PersonsClient, RateLimits
from posthog_persons._transport import AsyncPacedRetryTransport, PacedRetryTransport
from posthog_persons.pacing import Pacer, RequestKind, paced_seconds
from posthog_persons.retry import RetryPolicy

PERSONS = "http://testserver/api/projects/1/persons/"
BULK_DELETE = PERSONS + "bulk_delete/"


def max_in_window(times: list[float], seconds: float) -> int:
    window: deque[float] = deque()
    worst = 0
    for t in sorted(times):
        window.append(t)
        while window[0] <= t - seconds:
            window.popleft()
        worst = max(worst, len(window))
    return worst


def schedule(pacer: Pacer, clock: FakeClock, kind: RequestKind, requests: int) -> list[float]:
    """The instants the pacer lets `requests` requests through, sent back to back."""
    sent = []
    for _ in range(requests):
        while (wait := pacer.reserve(kind)) > 0:
            clock.sleep(wait)
        sent.append(clock.now)
    return sent


def test_a_million_id_erasure_with_events_is_paced_in_about_21_minutes() -> None:
    """Issue 10: 5,000 lookups and 1,000 bulk deletes side by side; the old 1200/hour read
    budget made the lookups alone take about 4 hours."""
    lookups = paced_seconds(5000, DEFAULT_RATE_LIMITS.reads, [], 0.0)
    deletes = paced_seconds(1000, DEFAULT_RATE_LIMITS.deletes, [], 0.0)
    assert lookups == 20 * 60  # ceil(5000 / 240) - 1 full minutes after the first
    assert deletes == 2 * 60
    assert max(lookups, deletes) / 60 == pytest.approx(20.0)
    old = paced_seconds(5000, (Budget(240, 60), Budget(1200, 3600)), [], 0.0)
    assert old >= 4 * 3600


@pytest.mark.parametrize("kind", ["read", "delete"])
@pytest.mark.parametrize("requests", [1, 240, 241, 480, 481, 1000, 4800, 4801, 5000, 10_001])
def test_paced_seconds_is_what_the_pacer_takes(kind: RequestKind, requests: int) -> None:
    """The CLI's ETA and the benchmark's floor (paced_seconds) against the pacer itself."""
    clock = FakeClock()
    sent = schedule(Pacer(DEFAULT_RATE_LIMITS, clock=clock), clock, kind, requests)
    budgets = DEFAULT_RATE_LIMITS.budgets(kind)
    took = sent[-1] - sent[0]
    assert took == pytest.approx(paced_seconds(requests, budgets, [], 0.0), abs=1e-3)
    for budget in budgets:
        assert max_in_window(sent, budget.seconds) <= budget.limit


def test_paced_seconds_counts_the_requests_already_in_the_windows() -> None:
    clock = FakeClock()
    pacer = Pacer(DEFAULT_RATE_LIMITS, clock=clock)
    start = clock.now
    earlier = schedule(pacer, clock, "read", 200)
    clock.now = start + 30.0
    later = schedule(pacer, clock, "read", 100)
    # 40 went at once at +30 s; the other 60 waited for the first minute's requests to leave.
    assert later[39] == start + 30.0 and later[40] == pytest.approx(start + 60.0)
    assert paced_seconds(100, DEFAULT_RATE_LIMITS.reads, earlier, start + 30.0) == pytest.approx(
        30.0
    )


def test_two_clients_sharing_a_pacer_share_its_budget() -> None:
    clock = FakeClock()
    pacer = Pacer(RateLimits(reads=(Budget(3, 60),)), clock=clock)
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return httpx.Response(200, json={})

    def client() -> httpx.Client:
        transport = PacedRetryTransport(
            httpx.MockTransport(answer), policy=RetryPolicy(), pacer=pacer, sleep=clock.sleep
        )
        return httpx.Client(transport=transport)

    start = clock.now
    with client() as first, client() as second:
        first.get(PERSONS)
        first.get(PERSONS)
        second.get(PERSONS)
        assert clock.sleeps == []
        second.get(PERSONS)  # the key's fourth read in the minute: waits, whoever sends it
        assert clock.sleeps == [pytest.approx(60.0)]
    assert [t - start for t in sent] == [0.0, 0.0, 0.0, pytest.approx(60.0)]


def test_asyncio_tasks_of_several_clients_sharing_a_pacer_stay_within_the_budgets() -> None:
    """Three async clients, each with four concurrent tasks, on one pacer: 1,200 lookups and
    120 deletes in simulated time, never over the server's budgets, and no slower than the
    budgets require."""

    async def main() -> tuple[dict[str, list[float]], float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(DEFAULT_RATE_LIMITS, clock=loop.time)
        sent: dict[str, list[float]] = {"read": [], "delete": []}

        async def answer(request: httpx.Request) -> httpx.Response:
            sent["delete" if request.url.path.endswith("/bulk_delete/") else "read"].append(
                loop.time()
            )
            await asyncio.sleep(0.2)  # the server's latency
            return httpx.Response(200, json={})

        async def worker(http: httpx.AsyncClient, url: str, requests: int) -> None:
            for _ in range(requests):
                (await http.post(url)).raise_for_status()

        clients = [
            httpx.AsyncClient(
                transport=AsyncPacedRetryTransport(
                    httpx.MockTransport(answer),
                    policy=RetryPolicy(),
                    pacer=pacer,
                    sleep=asyncio.sleep,
                )
            )
            for _ in range(3)
        ]
        tasks = [worker(http, PERSONS + "batch_by_distinct_ids/", 100) for http in clients * 4]
        tasks += [worker(http, BULK_DELETE, 10) for http in clients * 4]
        started = loop.time()
        await asyncio.gather(*tasks)
        for http in clients:
            await http.aclose()
        return sent, loop.time() - started

    sent, took = run_simulated(main())
    assert len(sent["read"]) == 1200 and len(sent["delete"]) == 120
    assert max_in_window(sent["read"], 60) == 240
    assert max_in_window(sent["delete"], 60) <= 480
    floor = paced_seconds(1200, DEFAULT_RATE_LIMITS.reads, [], 0.0)
    # The last minute's 240 lookups go as soon as the window allows, 12 at a time, 0.2 s each.
    assert took == pytest.approx(floor + 240 / 12 * 0.2, abs=0.01)


def test_clients_built_with_one_pacer_share_the_keys_budget() -> None:
    """`PersonsClient(pacer=...)`: the server counts per key, not per client."""
    clock = FakeClock()
    shared = Pacer(RateLimits(reads=(Budget(2, 60),)), clock=clock)
    person = {"id": 1, "uuid": "00000000-0000-0000-0000-000000000001", "distinct_ids": ["a"]}

    def client() -> PersonsClient:
        return PersonsClient(
            "phx_transport_test_key_0123456789abcdef", project_id=1,
            host="https://ph.example.com", pacer=shared, clock=clock, sleep=clock.sleep,
            transport=httpx.MockTransport(lambda r: httpx.Response(200, json=person)),
        )  # fmt: skip

    with client() as first, client() as second:
        assert first.pacer is second.pacer is shared
        first.get_person(1)
        second.get_person(1)
        assert clock.sleeps == []
        first.get_person(1)
        assert clock.sleeps == [pytest.approx(60.0)]
