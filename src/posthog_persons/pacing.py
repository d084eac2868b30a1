"""THE pacing rule: stay inside the server's rate limits instead of waiting for 429s.

PostHog throttles each personal API key (posthog/api/person.py, `PersonViewSet.get_throttles`;
the rates in posthog/api/person.py and posthog/rate_limit.py):

- delete actions (`destroy`, `bulk_delete`, `delete_events`, `delete_recordings`):
  `PersonsDeleteBurstThrottle` 480/minute and `PersonsDeleteSustainedThrottle` 4800/hour;
- every other persons request (list, retrieve, lookups, deletion_status, property updates):
  `ClickHouseBurstRateThrottle` only, 240/minute and no hourly cap. (180/minute + 1200/hour,
  `PersonsWebBurstThrottle`/`PersonsWebSustainedThrottle`, apply to browser sessions, not keys.)

The pacer keeps, for each budget, a sliding window of the times of the requests it let through.
A request goes at once when every budget of its kind has room, so a burst the server allows
(say 201 list calls) runs at full speed; only a request that would exceed a budget waits, until
the oldest request of the full window leaves it. Every attempt counts, retries included, since
the server counts them too.

One Pacer may be shared by several clients, threads and asyncio tasks of one process (the
server counts per key): one lock guards the windows, nobody sleeps or awaits while holding it,
and a caller that must wait is told how long and asks again. `rate_limits=None` on the client
switches pacing off (e.g. for a private emulator).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Literal

import attrs

from ._sansio import Sleep

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DELETE_BUDGETS",
    "READ_BUDGETS",
    "THROTTLE_WINDOW",
    "Budget",
    "Pacer",
    "RateLimits",
    "RequestKind",
    "paced_seconds",
    "request_kind",
]

logger = logging.getLogger("posthog_persons")

RequestKind = Literal["delete", "read"]
#: Added to every wait: `now + wait` computed in floats can land a hair short of the instant
#: the oldest request leaves the window, and letting a request through then would put
#: limit + 1 requests in one window. A microsecond more makes the bound exact.
_EPSILON = 1e-6
_DELETE_ACTIONS = ("/bulk_delete/", "/delete_events/", "/delete_recordings/")


def request_kind(method: str, path: str) -> RequestKind:
    """Which budget a request spends: the delete actions, or everything else."""
    if method.upper() == "DELETE" or path.endswith(_DELETE_ACTIONS):
        return "delete"
    return "read"


def _positive_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive integer, got {value!r}")


def _positive_float(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen
class Budget:
    """At most `limit` requests in any `seconds`-long window."""

    limit: int = attrs.field(validator=_positive_int)
    seconds: float = attrs.field(validator=_positive_float)

    def __str__(self) -> str:
        return f"{self.limit} per {self.seconds:g}s"


#: posthog/api/person.py: PersonsDeleteBurstThrottle.rate = "480/minute",
#: PersonsDeleteSustainedThrottle.rate = "4800/hour" (both keyed by the personal API key).
DELETE_BUDGETS = (Budget(480, 60.0), Budget(4800, 3600.0))
#: posthog/rate_limit.py: ClickHouseBurstRateThrottle.rate = "240/minute"; for a personal API
#: key, PersonViewSet.get_throttles returns it alone for every non-delete action: no hourly cap.
READ_BUDGETS = (Budget(240, 60.0),)
#: The window a 429 without Retry-After is waited out for when no budget says otherwise: both
#: burst throttles above (the ones a burst trips) count per minute.
THROTTLE_WINDOW = 60.0


@attrs.frozen
class RateLimits:
    """The budgets the client paces itself to; the defaults are PostHog's, per personal key."""

    deletes: tuple[Budget, ...] = DELETE_BUDGETS
    reads: tuple[Budget, ...] = READ_BUDGETS

    def budgets(self, kind: RequestKind) -> tuple[Budget, ...]:
        return self.deletes if kind == "delete" else self.reads


DEFAULT_RATE_LIMITS = RateLimits()


def paced_seconds(
    requests: int, budgets: Iterable[Budget], recent: Sequence[float], now: float
) -> float:
    """A lower bound on the time `requests` more requests need under the pacer's budgets.

    A sliding window lets `limit` requests through per `seconds`: n requests need
    ceil(n / limit) - 1 whole windows after the first, longest window first. `recent` are the
    send times already spent inside the windows (from the journal, so that a restarted job
    knows the server still counts its last hour).
    """
    if requests <= 0:
        return 0.0
    seconds = 0.0
    left = requests
    spent = sorted(t for t in recent if t <= now)
    for budget in sorted(budgets, key=lambda b: b.seconds, reverse=True):
        inside = [t for t in spent if now - t < budget.seconds]
        windows = max(0, math.ceil((left + len(inside)) / budget.limit) - 1)
        if windows:
            seconds += windows * budget.seconds - (now - inside[0] if inside else 0.0)
            left = left + len(inside) - windows * budget.limit
            # Past a full wait the shorter windows start empty.
            spent = []
    return max(0.0, seconds)


class _Window:
    """The times of the requests let through within one budget's window."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until this window has room for one more request (0 if it has room)."""
        horizon = now - self.budget.seconds
        while self.times and self.times[0] <= horizon:
            self.times.popleft()
        if len(self.times) < self.budget.limit:
            return 0.0
        return self.times[0] - horizon + _EPSILON


class Pacer:
    """Sliding-window pacing over a RateLimits value, shareable by every user of one key.

    Several clients (`PersonsClient(pacer=...)`), threads and asyncio tasks of one process may
    share one Pacer: `reserve` never blocks (it takes a slot or says how long to wait), so a
    waiting thread or task sleeps outside the lock and lets the others through. The clock is
    injectable for tests.
    """

    def __init__(
        self, limits: RateLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = DEFAULT_RATE_LIMITS if limits is None else limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[RequestKind, list[_Window]] = {
            kind: [_Window(budget) for budget in self.limits.budgets(kind)]
            for kind in ("delete", "read")
        }
        # Read by the retry plan for every request sent: worked out once, not per request.
        self._throttle_windows: dict[RequestKind, float | None] = {
            kind: min((budget.seconds for budget in self.limits.budgets(kind)), default=None)
            for kind in ("delete", "read")
        }

    def reserve(self, kind: RequestKind) -> float:
        """Take a slot now and return 0, or return how long to wait before asking again."""
        with self._lock:
            now = self._clock()
            windows = self._windows[kind]
            wait = 0.0
            for window in windows:
                wait = max(wait, window.wait(now))
            if wait == 0.0:
                for window in windows:
                    window.times.append(now)
                return 0.0
            full = ", ".join(str(w.budget) for w in windows if w.wait(now) > 0.0)
        logger.info("pacing: waiting %.2fs to stay within %s %s requests", wait, full, kind)
        return wait

    def turn(self, kind: RequestKind) -> Generator[Sleep, None, None]:
        """A sub-flow that sleeps until a slot is reserved."""
        while (wait := self.reserve(kind)) > 0:
            yield Sleep(wait)

    def throttle_window(self, kind: RequestKind) -> float | None:
        """The shortest window of this kind's budgets (the burst throttle's), None if unpaced."""
        return self._throttle_windows[kind]
