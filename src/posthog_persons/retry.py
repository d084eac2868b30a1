"""THE retry policy, and the plan that applies it (with pacing) to every request sent.

Retried: 429, 502, 503, 504, and connection errors / timeouts (including the transport's
whole-request deadline, see `_transport`). Never retried: any other status (400, 401, 403,
404, 500...), so a client error costs exactly one request.

Delay before retry n (n = 0, 1, ...): the server's `Retry-After` when it sends one (seconds or
an HTTP date), as long as it is at most `retry_after_max`; a longer `Retry-After` is not waited
out: the error is returned at once so the caller can decide (its `retry_after` says how long).
A 429 without `Retry-After` (a proxy can strip it) waits for the window of the throttle that
refused it: the shortest budget window of the request's kind (60 s for both of PostHog's
burst throttles), at most `throttle_wait`, so that the retries are not spent in seconds inside
the same full window. Other retries: exponential backoff with full jitter, uniform in
[0, min(backoff_max, backoff_base * 2**n)]. At most `max_retries` retries per request.

Retrying a bulk delete batch is safe: the server counts already-deleted persons as not found.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import httpx

from ._sansio import Discard, Job, Send, Sleep
from .pacing import THROTTLE_WINDOW, request_kind

if TYPE_CHECKING:
    from .pacing import Pacer

__all__ = ["RETRYABLE_ERRORS", "RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

logger = logging.getLogger("posthog_persons")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@attrs.frozen
class RetryPolicy:
    """When to retry and how long to wait; `jitter` (uniform in [0, 1)) is injectable."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    #: The longest wait after a 429 without Retry-After (a throttle's window).
    throttle_wait: float = THROTTLE_WINDOW
    jitter: Callable[[], float] = attrs.field(default=random.random, eq=False, repr=False)

    def delay(self, retries_done: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next retry, or None when no retry is left."""
        if retries_done >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_max else None
        return self.jitter() * min(self.backoff_max, self.backoff_base * 2.0**retries_done)

    def delay_after_response(
        self, retries_done: int, response: httpx.Response, *, window: float | None = None
    ) -> float | None:
        """The delay before retrying after this response, None if it is final.

        `window`: the window of the throttle the request counts against (a 429 without
        Retry-After waits for it, at most `throttle_wait`).
        """
        status = response.status_code
        if status not in RETRY_STATUSES:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None and status == 429:
            retry_after = self.throttle_wait if window is None else min(window, self.throttle_wait)
        return self.delay(retries_done, retry_after)


def send_with_retries(
    request: httpx.Request, policy: RetryPolicy, pacer: Pacer | None
) -> Job[httpx.Response]:
    """The plan for one request: pace, send, retry per the policy; returns the final response."""
    kind = request_kind(request.method, request.url.path)
    where = f"{request.method} {request.url.path}"  # never the query (it may hold emails)
    window = pacer.throttle_window(kind) if pacer is not None else None
    retries = 0
    while True:
        if pacer is not None:
            yield from pacer.turn(kind)
        try:
            response: httpx.Response = yield Send(request)
        except RETRYABLE_ERRORS as exc:
            delay = policy.delay(retries)
            if delay is None:
                raise
            reason = type(exc).__name__
        else:
            delay = policy.delay_after_response(retries, response, window=window)
            if delay is None:
                return response
            yield Discard(response)
            reason = f"HTTP {response.status_code}"
        retries += 1
        logger.warning(
            "%s on %s; retry %d of %d in %.2fs", reason, where, retries, policy.max_retries, delay
        )
        yield Sleep(delay)
