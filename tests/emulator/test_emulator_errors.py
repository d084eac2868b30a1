"""Authentication, scopes, routing errors, throttling and injected faults."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog


def test_missing_and_wrong_key_are_401(api: httpx.Client) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer phx_wrong"}):
        response = api.get(PERSONS, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["type"] == "authentication_error"
        assert body["code"] == "authentication_failed"
        assert body["attr"] is None and body["detail"]


def test_missing_scope_is_403_naming_it(fake: FakePostHog) -> None:
    fake.add_api_key("phx_read_only", ["person:read"])
    with fake.client(headers={"Authorization": "Bearer phx_read_only"}) as client:
        assert client.get(PERSONS).status_code == 200
        response = client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ["a"]})
        assert response.status_code == 403
        assert response.json()["detail"] == "API key missing required scope 'person:write'"
        assert "activity_log:read" in client.get(f"{PERSONS}activity/").json()["detail"]
        assert "cohort:read" in client.get(f"{PERSONS}cohorts/?person_id=1").json()["detail"]


def test_not_found_bodies(api: httpx.Client) -> None:
    response = api.get(f"{PERSONS}987654/")
    assert response.status_code == 404
    assert response.json() == {
        "type": "invalid_request",
        "code": "not_found",
        "detail": "Not found.",
        "attr": None,
    }
    assert api.get("/api/projects/2/persons/").status_code == 404
    assert api.get("/api/projects/1/nothing/").status_code == 404
    assert api.get("/api/projects/@current/persons/").status_code == 200


def test_distinct_id_where_an_id_is_expected_is_400(api: httpx.Client) -> None:
    response = api.get(f"{PERSONS}user-42/")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "does not look like a personID" in detail
    assert "/persons?distinct_id=user-42" in detail


def test_wrong_method_on_a_detail_route_is_405_after_the_scope_check(api: httpx.Client) -> None:
    # POST on `persons/{id}/` is a write action nowhere: no scope, so a scoped key is refused
    # first (see test_emulator_access.py for the legacy key's 405).
    response = api.post(f"{PERSONS}1/")
    assert response.status_code == 403


def test_reads_are_throttled_with_retry_after() -> None:
    moment = [1000.0]
    fake = FakePostHog(3, seed=0, validate=False, rate_limit_per_minute=5, clock=lambda: moment[0])
    with fake.client() as client:
        for _ in range(5):
            assert client.get(PERSONS).status_code == 200
            moment[0] += 1
        response = client.get(PERSONS)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "55"
        assert response.json()["type"] == "throttled_error"
        # Deletes have their own budget (480/min by default once throttling is on).
        assert (
            client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ["x"]}).status_code == 202
        )
        fake.advance(55)
        assert client.get(PERSONS).status_code == 200


def test_delete_budget_is_separate_and_per_key() -> None:
    moment = [0.0]
    fake = FakePostHog(0, validate=False, delete_rate_limit_per_minute=2, clock=lambda: moment[0])
    fake.add_api_key("phx_other", ["person:read", "person:write"])
    body = {"distinct_ids": ["x"]}
    with fake.client() as client:
        for _ in range(2):
            assert client.post(f"{PERSONS}bulk_delete/", json=body).status_code == 202
        throttled = client.post(f"{PERSONS}bulk_delete/", json=body)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "60"
        assert client.get(PERSONS).status_code == 200
        other = client.post(
            f"{PERSONS}bulk_delete/", json=body, headers={"Authorization": "Bearer phx_other"}
        )
        assert other.status_code == 202


def _fault_trace(seed: int) -> list[str]:
    fake = FakePostHog(10, seed=seed, validate=False, fault_rate=0.4)
    trace = []
    with fake.client() as client:
        for _ in range(40):
            try:
                trace.append(str(client.get(PERSONS).status_code))
            except httpx.RemoteProtocolError:
                trace.append("disconnect")
    return trace


def test_faults_are_deterministic_per_seed() -> None:
    first, again, other = _fault_trace(11), _fault_trace(11), _fault_trace(12)
    assert first == again
    assert first != other
    assert {"200", "502", "503", "disconnect"} <= set(first)


def test_faults_over_http_drop_the_connection() -> None:
    fake = FakePostHog(1, seed=5, validate=False, fault_rate=1.0)
    outcomes = set()
    with fake.serve() as server, httpx.Client(base_url=server.url) as client:
        for _ in range(12):
            try:
                outcomes.add(client.get(PERSONS).status_code)
            except httpx.RemoteProtocolError:
                outcomes.add(0)
    assert outcomes == {0, 502, 503}
    assert {r.fault for r in fake.requests} == {"502", "503", "disconnect"}


def test_latency_sync_and_async() -> None:
    fake = FakePostHog(1, validate=False, latency=0.05)

    async def many() -> list[int]:
        async with fake.async_client() as client:
            responses = await asyncio.gather(*(client.get(PERSONS) for _ in range(10)))
        return [r.status_code for r in responses]

    loop_start = asyncio.new_event_loop()
    try:
        started = loop_start.time()
        statuses = loop_start.run_until_complete(many())
        elapsed = loop_start.time() - started
    finally:
        loop_start.close()
    assert statuses == [200] * 10
    # Ten concurrent requests overlap their sleeps: asyncio.sleep, not time.sleep.
    assert elapsed < 0.4


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_fault_rate_must_be_a_probability(rate: float) -> None:
    with pytest.raises(ValueError):
        FakePostHog(validate=False, fault_rate=rate)


def _delete(fake: FakePostHog, key: str | None = None) -> tuple[int, str | None]:
    headers = {"Authorization": f"Bearer {key or fake.api_key}", "Content-Type": "application/json"}
    answer = fake.handle("POST", f"{PERSONS}bulk_delete/", headers, b'{"distinct_ids": ["x"]}')
    return answer.status, answer.headers.get("Retry-After")


def test_delete_budget_has_an_hourly_window_too() -> None:
    moment = [0.0]
    fake = FakePostHog(
        0,
        validate=False,
        delete_rate_limit_per_minute=3,
        delete_rate_limit_per_hour=5,
        clock=lambda: moment[0],
    )
    for second in range(3):
        moment[0] = second
        assert _delete(fake) == (202, None)
    moment[0] = 3
    # The minute window refuses; the hour window allowed it and, as in DRF, recorded it.
    assert _delete(fake) == (429, "57")
    moment[0] = 61
    assert _delete(fake) == (202, None)
    moment[0] = 62
    # Five in the last hour (four accepted, one refused by the minute window only).
    status, retry_after = _delete(fake)
    assert (status, retry_after) == (429, str(3600 - 62))
    moment[0] = 3599
    assert _delete(fake)[0] == 429
    moment[0] = 3600.5
    assert _delete(fake) == (202, None)


def test_default_delete_budget_is_480_a_minute_and_4800_an_hour() -> None:
    moment = [0.0]
    fake = FakePostHog(0, validate=False, rate_limit_per_minute=10_000, clock=lambda: moment[0])
    assert (fake.delete_rate_limit_per_minute, fake.delete_rate_limit_per_hour) == (480, 4800)
    assert fake.rate_limit_per_hour is None
    # A client pacing itself to exactly 480 a minute runs dry after ten minutes.
    for minute in range(10):
        moment[0] = minute * 60.0
        assert {_delete(fake)[0] for _ in range(480)} == {202}
    moment[0] = 570.0
    # Both windows are full: Retry-After is the longer wait (the hour's), as in DRF.
    assert _delete(fake) == (429, "3030")
    moment[0] = 600.0
    # The minute window has room again, the hour window not: wait for its oldest entry.
    assert _delete(fake) == (429, "3000")
    moment[0] = 3600.0
    assert _delete(fake) == (202, None)
    # Without any rate limit nothing is throttled at all.
    unlimited = FakePostHog(0, validate=False)
    assert (unlimited.delete_rate_limit_per_minute, unlimited.delete_rate_limit_per_hour) == (
        None,
        None,
    )
    assert {_delete(unlimited)[0] for _ in range(600)} == {202}


def test_reads_can_have_an_hourly_budget() -> None:
    moment = [0.0]
    fake = FakePostHog(
        1, validate=False, rate_limit_per_minute=240, rate_limit_per_hour=3, clock=lambda: moment[0]
    )
    assert fake.delete_rate_limit_per_hour == 4800
    with fake.client() as client:
        for second in range(3):
            moment[0] = second * 100.0
            assert client.get(PERSONS).status_code == 200
        moment[0] = 1000.0
        response = client.get(PERSONS)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2600"
        assert response.json()["detail"].endswith("2600 seconds.")
        # The delete budget is separate.
        body = {"distinct_ids": ["x"]}
        assert client.post(f"{PERSONS}bulk_delete/", json=body).status_code == 202
        moment[0] = 3600.0
        assert client.get(PERSONS).status_code == 200


def test_throttle_on_gives_the_2026_servers_budgets() -> None:
    # posthog/api/person.py get_throttles for a personal API key: ClickHouseBurstRateThrottle
    # (240/minute, no hourly cap) for every non-delete request; deletes 480/min + 4800/h.
    moment = [0.0]
    fake = FakePostHog(0, validate=False, throttle=True, clock=lambda: moment[0])
    assert (fake.rate_limit_per_minute, fake.rate_limit_per_hour) == (240, None)
    assert (fake.delete_rate_limit_per_minute, fake.delete_rate_limit_per_hour) == (480, 4800)
    headers = {"Authorization": f"Bearer {fake.api_key}"}

    def read() -> tuple[int, str | None]:
        answer = fake.handle("GET", f"{PERSONS}values/", headers)
        return answer.status, answer.headers.get("Retry-After")

    # Sixty-one minutes at the full minute budget: no hourly cap ever refuses.
    for minute in range(61):
        moment[0] = minute * 60.0
        assert {read()[0] for _ in range(240)} == {200}, minute
    assert read() == (429, "60")
    # Any one limit also turns throttling on, the others at the server's values.
    one = FakePostHog(0, validate=False, delete_rate_limit_per_hour=10)
    assert (one.rate_limit_per_minute, one.delete_rate_limit_per_minute) == (240, 480)


@pytest.mark.parametrize(
    "knob",
    [
        "rate_limit_per_minute",
        "rate_limit_per_hour",
        "delete_rate_limit_per_minute",
        "delete_rate_limit_per_hour",
    ],
)
def test_rate_limits_must_be_positive(knob: str) -> None:
    with pytest.raises(ValueError, match=knob):
        FakePostHog(validate=False, **{knob: 0})  # type: ignore[arg-type]
