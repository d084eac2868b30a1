"""The server's rate limits for personal API keys, with DRF's throttling semantics."""

from __future__ import annotations

import math
from collections import deque

from ._http import EmulatorResponse, drf_error

MINUTE = 60.0
HOUR = 3600.0
# posthog/api/person.py get_throttles, for a personal API key: delete actions get
# PersonsDeleteBurstThrottle (480/minute) and PersonsDeleteSustainedThrottle (4800/hour);
# every other persons request only ClickHouseBurstRateThrottle (posthog/rate_limit.py,
# 240/minute), no hourly cap. (180/minute + 1200/hour apply to browser sessions only.)
SERVER_READ_PER_MINUTE = 240
SERVER_READ_PER_HOUR: int | None = None
SERVER_DELETE_PER_MINUTE = 480
SERVER_DELETE_PER_HOUR = 4800


class Throttle:
    """Sliding windows per (key, bucket, window), checked together as DRF's check_throttles.

    As in DRF, a throttle that allows the request records it even when another one refuses
    (so hammering past the minute limit spends the hourly budget), and `Retry-After` is the
    longest wait of the throttles that refused.
    """

    def __init__(self, limits: dict[str, list[tuple[float, int]]]) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str, float], deque[float]] = {}

    def check(self, key: str, bucket: str, now: float) -> EmulatorResponse | None:
        waits: list[float] = []
        for duration, limit in self.limits.get(bucket, []):
            window = self._windows.setdefault((key, bucket, duration), deque())
            while window and window[0] <= now - duration:
                window.popleft()
            if len(window) >= limit:
                waits.append(window[0] + duration - now)
            else:
                window.append(now)
        if not waits:
            return None
        wait = max(1, math.ceil(max(waits)))
        response = drf_error(
            429,
            "throttled_error",
            "throttled",
            f"Request was throttled. Expected available in {wait} seconds.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
