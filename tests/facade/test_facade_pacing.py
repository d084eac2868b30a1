"""Pacing: sliding-window budgets; bursts within budget go at full speed, the rest wait."""

from __future__ import annotations

import threading
from collections import deque

import httpx
import pytest
from facade_support import body, list_server, person_json, person_uuid, run_async

from posthog_persons import DEFAULT_RATE_LIMITS, Budget, RateLimits
from posthog_persons.pacing import Pacer, request_kind


def max_in_window(times: list[float], seconds: float) -> int:
    window: deque[float] = deque()
    worst = 0
    for t in times:
        window.append(t)
        while window[0] <= t - seconds:
            window.popleft()
        worst = max(worst, len(window))
    return worst


def test_defaults_are_the_servers_limits() -> None:
    assert DEFAULT_RATE_LIMITS.deletes == (Budget(480, 60), Budget(4800, 3600))
    # Personal API keys: ClickHouseBurstRateThrottle only (posthog/api/person.py get_throttles).
    assert DEFAULT_RATE_LIMITS.reads == (Budget(240, 60),)
    with pytest.raises(ValueError):
        Budget(0, 60)


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/api/projects/1/persons/bulk_delete/", "delete"),
        ("DELETE", "/api/projects/1/persons/5/", "delete"),
        ("POST", "/api/environments/1/persons/5/delete_events/", "delete"),
        ("POST", "/api/projects/1/persons/5/delete_recordings/", "delete"),
        ("GET", "/api/projects/1/persons/", "read"),
        ("POST", "/api/projects/1/persons/batch_by_uuids/", "read"),
        ("GET", "/api/projects/1/persons/deletion_status/", "read"),
        ("POST", "/api/projects/1/persons/5/delete_property/", "read"),
    ],
)
def test_request_kinds(method: str, path: str, kind: str) -> None:
    assert request_kind(method, path) == kind


def test_201_list_calls_do_not_wait_and_the_241st_does(make_client, clock) -> None:
    client, recorder = make_client(list_server([person_json(0)]), rate_limits=DEFAULT_RATE_LIMITS)
    for _ in range(201):
        list(client.iter_persons())
    assert clock.sleeps == []
    for _ in range(39):
        list(client.iter_persons())
    assert clock.sleeps == [] and len(recorder.requests) == 240
    list(client.iter_persons())
    assert clock.sleeps == [pytest.approx(60.0)]
    assert len(recorder.requests) == 241


def test_a_long_delete_job_never_exceeds_480_per_sliding_minute(make_client, clock) -> None:
    """1300 DELETE requests with 20 ms of latency each: paced, never throttled."""
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        clock.now += 0.02
        return httpx.Response(202)

    client, _ = make_client(handler, rate_limits=DEFAULT_RATE_LIMITS)
    http = client.api.get_httpx_client()
    for i in range(1300):
        http.delete(f"/api/projects/1/persons/{i}/")
    assert max_in_window(sent, 60) == 480
    assert sent[479] - sent[0] < 10  # the first 480 went at full speed
    assert sent[480] - sent[0] == pytest.approx(60)
    assert sent[-1] - sent[0] < 3 * 60  # and no slower than the budget requires


def test_bulk_delete_stays_inside_both_windows(make_client, clock) -> None:
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        clock.now += 0.5
        n = len(body(request)["ids"])
        return httpx.Response(202, json={"persons_found": n, "persons_deleted": n})

    limits = RateLimits(deletes=(Budget(5, 60), Budget(8, 3600)))
    client, _ = make_client(handler, rate_limits=limits)
    result = client.bulk_delete(ids=(person_uuid(i) for i in range(12_000)))
    assert result.batches == 12
    assert max_in_window(sent, 60) <= 5 and max_in_window(sent, 3600) <= 8
    assert sent[8] - sent[0] == pytest.approx(3600)


def test_reads_and_deletes_have_separate_budgets(make_client, clock) -> None:
    limits = RateLimits(deletes=(Budget(2, 60),), reads=(Budget(1, 60),))
    client, _ = make_client(lambda r: httpx.Response(202), rate_limits=limits)
    http = client.api.get_httpx_client()
    http.get("/api/projects/1/persons/")
    http.delete("/api/projects/1/persons/1/")
    http.delete("/api/projects/1/persons/2/")
    assert clock.sleeps == []
    http.get("/api/projects/1/persons/")
    assert clock.sleeps == [pytest.approx(60)]


def test_retries_spend_the_budget_too(make_client, clock) -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json=person_json(0))])
    limits = RateLimits(reads=(Budget(1, 60),))
    client, recorder = make_client(lambda r: next(answers), rate_limits=limits)
    client.get_person(1)
    assert len(recorder.requests) == 2
    assert sum(clock.sleeps) == pytest.approx(60)  # backoff, then the pacer's remainder


def test_pacing_off(make_client, clock) -> None:
    client, recorder = make_client(list_server([]), rate_limits=None)
    for _ in range(1500):
        list(client.iter_persons())
    assert clock.sleeps == [] and len(recorder.requests) == 1500


def test_the_pacer_is_thread_safe() -> None:
    pacer = Pacer(RateLimits(reads=(Budget(100, 60),)), clock=lambda: 5.0)
    granted: list[float] = []

    def worker() -> None:
        for _ in range(100):
            granted.append(pacer.reserve("read"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(0.0) == 100
    assert all(wait == pytest.approx(60) for wait in granted if wait)


def test_the_window_slides() -> None:
    now = [0.0]
    pacer = Pacer(RateLimits(reads=(Budget(3, 10),)), clock=lambda: now[0])
    for t in (0.0, 4.0, 6.0):
        now[0] = t
        assert pacer.reserve("read") == 0
    now[0] = 7.0
    assert pacer.reserve("read") == pytest.approx(3.0)  # until the request at 0 leaves
    now[0] = 10.0
    assert pacer.reserve("read") == 0
    assert pacer.reserve("read") == pytest.approx(4.0)


def test_async_pacing(make_async_client, clock) -> None:
    client, recorder = make_async_client(
        list_server([]), rate_limits=RateLimits(reads=(Budget(3, 60),))
    )

    async def main() -> None:
        async with client:
            for _ in range(4):
                [p async for p in client.iter_persons()]

    run_async(main())
    assert clock.sleeps == [pytest.approx(60)] and len(recorder.requests) == 4


def test_a_long_delete_job_stays_under_480_a_minute_and_4800_an_hour(make_client, clock) -> None:
    """6000 delete requests (6 million persons) under the default budgets: none waits for 429."""
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        clock.now += 0.05
        return httpx.Response(202)

    client, _ = make_client(handler, rate_limits=DEFAULT_RATE_LIMITS)
    http = client.api.get_httpx_client()
    for i in range(6000):
        http.delete(f"/api/projects/1/persons/{i}/")
    assert max_in_window(sent, 60) == 480
    assert max_in_window(sent, 3600) == 4800
    assert sent[4799] - sent[0] < 10 * 60 + 1  # ten minutes at 480/minute...
    assert sent[4800] - sent[0] == pytest.approx(3600)  # ...then the hour's budget is spent
    assert sent[-1] - sent[0] < 3600 + 3 * 60 + 1  # and no slower than the budgets require


def test_reads_stay_under_240_a_minute_with_no_hourly_cap(make_client, clock) -> None:
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        clock.now += 0.1
        return list_server([person_json(0)])(request)

    client, _ = make_client(handler, rate_limits=DEFAULT_RATE_LIMITS)
    for _ in range(1300):
        list(client.iter_persons())
    assert max_in_window(sent, 60) == 240
    # 1300 reads in just over five minutes: the old 1200/hour budget would have held the
    # 1201st back for an hour.
    assert sent[1200] - sent[0] == pytest.approx(300)
    assert sent[-1] - sent[0] < 6 * 60


def test_budgets_are_configurable_per_kind(make_client, clock) -> None:
    limits = RateLimits(deletes=(Budget(3, 10),), reads=())
    client, _ = make_client(lambda r: httpx.Response(202), rate_limits=limits)
    http = client.api.get_httpx_client()
    for _ in range(500):  # no read budget: reads are not paced at all
        http.get("/api/projects/1/persons/")
    assert clock.sleeps == []
    for i in range(4):
        http.delete(f"/api/projects/1/persons/{i}/")
    assert clock.sleeps == [pytest.approx(10)]


def test_async_long_delete_job_under_the_default_budgets(make_async_client, clock) -> None:
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        clock.now += 0.05
        return httpx.Response(202)

    client, _ = make_async_client(handler, rate_limits=DEFAULT_RATE_LIMITS)

    async def main() -> None:
        async with client:
            http = client.api.get_async_httpx_client()
            for i in range(1000):
                await http.delete(f"/api/projects/1/persons/{i}/")

    run_async(main())
    assert max_in_window(sent, 60) == 480
    assert sent[479] - sent[0] < 30 and sent[480] - sent[0] == pytest.approx(60)


def test_async_pacing_off(make_async_client, clock) -> None:
    client, recorder = make_async_client(list_server([]), rate_limits=None)

    async def main() -> None:
        async with client:
            for _ in range(300):
                [p async for p in client.iter_persons()]

    run_async(main())
    assert clock.sleeps == [] and len(recorder.requests) == 300
