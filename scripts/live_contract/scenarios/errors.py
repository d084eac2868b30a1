"""The error answers: their statuses and bodies (DRF `{type, code, detail, attr}` or
`{"error"}`), and a 429 with its `Retry-After`. Raw requests, as any client would send them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import Context, Scenario, ScenarioFailure, expect
from .workflows import UNKNOWN_UUID

# The read throttle of the persons API for a personal API key: ClickHouseBurstRateThrottle,
# 240/minute (../shared/posthog-persons-api.md, "Rate limits"; posthog/rate_limit.py). A run
# asks for one more than the budget after a fresh window; the guard cap allows for slack.
READ_BUDGET_PER_MINUTE = 240
THROTTLE_ATTEMPTS = READ_BUDGET_PER_MINUTE + 60
FRESH_WINDOW = 61.0


def _status(ctx: Context, method: str, suffix: str, expected: int, **kwargs: Any) -> None:
    with ctx.http() as http:
        answer = http.request(method, ctx.path(suffix), **kwargs)
    expect(answer.status_code == expected, f"{method} {suffix} answered {answer.status_code}")


def retrieve_an_unknown_uuid(ctx: Context) -> None:
    _status(ctx, "GET", f"{UNKNOWN_UUID}/", 404)


def retrieve_by_a_distinct_id(ctx: Context) -> None:
    # posthog/api/person.py, PersonViewSet.get_object: an id that is neither numeric nor a
    # UUID is a 400 "does not look like a personID".
    _status(ctx, "GET", f"{ctx.plan.role('reader')[0].distinct_id}/", 400)


def properties_at_time_without_a_timestamp(ctx: Context) -> None:
    distinct_id = ctx.plan.role("reader")[0].distinct_id
    _status(ctx, "GET", "properties_at_time/", 400, params={"distinct_id": distinct_id})


def bulk_delete_with_both_lists(ctx: Context) -> None:
    body = {"ids": [UNKNOWN_UUID], "distinct_ids": ["lc-no-such-distinct-id"]}
    _status(ctx, "POST", "bulk_delete/", 400, json=body)


def throttled_read(ctx: Context) -> None:
    """Reads until the server says 429; the cassette keeps only that answer."""
    with ctx.http() as http:
        for _ in range(THROTTLE_ATTEMPTS):
            answer = http.get(ctx.path("deletion_status/"), params={"limit": 1})
            if answer.status_code == 429:
                return
            expect(answer.status_code == 200, f"a read answered {answer.status_code}")
    raise ScenarioFailure(f"no 429 after {THROTTLE_ATTEMPTS} reads")


def _scenario(run: Callable[[Context], Any], **options: Any) -> Scenario:
    return Scenario("test_error_answers", "test_error_answer", run.__name__, run, **options)


ERRORS = [
    _scenario(retrieve_an_unknown_uuid),
    _scenario(retrieve_by_a_distinct_id),
    _scenario(properties_at_time_without_a_timestamp),
    _scenario(bulk_delete_with_both_lists),
    # Last: it spends the whole read budget of the key.
    _scenario(throttled_read, keep=lambda status: status == 429, wait_before=FRESH_WINDOW),
]
