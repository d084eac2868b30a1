"""A 429 without Retry-After (a proxy stripped it) waits for the throttle's window, on a fake
clock, instead of spending every retry within seconds inside the same full window."""

from __future__ import annotations

import httpx
import pytest
from facade_support import FakeClock

from posthog_persons import (
    DEFAULT_RATE_LIMITS,
    Budget,
    PersonsClient,
    RateLimitError,
    RateLimits,
    ServerError,
)
from posthog_persons.retry import RetryPolicy

KEY = "phx_transport_test_key_0123456789abcdef"
PERSON = {"id": 1, "uuid": "00000000-0000-0000-0000-000000000001", "distinct_ids": ["a"]}


def make_client(
    answers: list[httpx.Response], clock: FakeClock, **options: object
) -> tuple[PersonsClient, list[float]]:
    sent: list[float] = []
    pending = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return next(pending)

    settings: dict[str, object] = {
        "project_id": 1, "host": "https://ph.example.com", "clock": clock, "sleep": clock.sleep,
        "transport": httpx.MockTransport(handler), **options,
    }  # fmt: skip
    return PersonsClient(KEY, **settings), sent  # type: ignore[arg-type]


def throttled() -> httpx.Response:
    return httpx.Response(429, json={"type": "throttled_error", "detail": "Request was throttled."})


@pytest.mark.parametrize("rate_limits", [DEFAULT_RATE_LIMITS, None])
def test_a_read_refused_without_retry_after_waits_a_minute_per_retry(rate_limits) -> None:
    clock = FakeClock()
    client, sent = make_client([throttled()] * 6, clock, rate_limits=rate_limits)
    with client, pytest.raises(RateLimitError) as caught:
        client.get_person(1)
    assert caught.value.retry_after is None
    # ClickHouseBurstRateThrottle counts per minute: five retries, a full window apart.
    assert clock.sleeps == [60.0] * 5
    assert [t - sent[0] for t in sent] == [0, 60, 120, 180, 240, 300]


def test_a_throttled_read_goes_through_once_the_window_has_passed() -> None:
    clock = FakeClock()
    client, _sent = make_client([throttled(), throttled(), httpx.Response(200, json=PERSON)], clock)
    with client:
        assert client.get_person(1).uuid == PERSON["uuid"]
    assert clock.sleeps == [60.0, 60.0]


def test_a_bulk_delete_refused_without_retry_after_waits_for_the_burst_window() -> None:
    """Deletes count against 480/minute and 4800/hour: the minute is the window a burst trips."""
    clock = FakeClock()
    done = {"persons_found": 1, "persons_deleted": 1, "events_queued_for_deletion": False}
    client, _sent = make_client(
        [throttled(), httpx.Response(202, json=done)], clock, rate_limits=DEFAULT_RATE_LIMITS
    )
    with client:
        result = client.bulk_delete(ids=[PERSON["uuid"]])
    assert result.persons_deleted == 1
    assert clock.sleeps == [60.0]


def test_the_window_is_the_configured_budgets_shortest() -> None:
    clock = FakeClock()
    limits = RateLimits(reads=(Budget(100, 3600), Budget(3, 10)))
    client, _ = make_client(
        [throttled(), httpx.Response(200, json=PERSON)], clock, rate_limits=limits
    )
    with client:
        client.get_person(1)
    assert clock.sleeps == [10.0]


def test_an_hour_long_budget_still_waits_at_most_throttle_wait() -> None:
    clock = FakeClock()
    limits = RateLimits(reads=(Budget(1000, 3600),))
    client, _ = make_client(
        [throttled(), httpx.Response(200, json=PERSON)], clock, rate_limits=limits
    )
    with client:
        client.get_person(1)
    assert clock.sleeps == [60.0]
    policy = RetryPolicy(throttle_wait=15.0)
    assert policy.delay_after_response(0, throttled(), window=60.0) == 15.0
    assert policy.delay_after_response(0, throttled(), window=None) == 15.0


def test_retry_after_still_wins_and_other_statuses_still_back_off() -> None:
    policy = RetryPolicy(jitter=lambda: 1.0)
    with_header = httpx.Response(429, headers={"Retry-After": "7"})
    assert policy.delay_after_response(0, with_header, window=60.0) == 7.0
    assert policy.delay_after_response(0, httpx.Response(503), window=60.0) == 0.5
    assert policy.delay_after_response(5, throttled(), window=60.0) is None  # no retry left
    assert policy.delay_after_response(0, httpx.Response(404), window=60.0) is None


def test_a_503_without_retry_after_is_not_held_for_a_minute() -> None:
    clock = FakeClock()
    client, _ = make_client(
        [httpx.Response(503)] * 6, clock, retry_policy=RetryPolicy(jitter=lambda: 1.0)
    )
    with client, pytest.raises(ServerError):
        client.get_person(1)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]
