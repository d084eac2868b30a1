"""Erasure time on a simulated clock: `bulk_delete` of 10^4..10^7 distinct ids against the floor
the server's throttles impose.

The client is the real AsyncPersonsClient with its default budgets, run on a virtual-time event
loop (bench/simulation.py): its pacer reads `loop.time`, it sleeps with `asyncio.sleep`, and
the fake server below answers after a modelled latency on the same clock, so hours of traffic
take seconds. The server counts every request against PostHog's throttles with DRF's sliding
windows on that clock, and answers 429 (with Retry-After) past them: a client that paces
itself right never sees one.

The floor for N ids: D = ceil(N/1000) bulk deletes under 480/min + 4800/h and, with
`delete_events` (distinct ids are resolved to UUIDs to track the deletions), L = ceil(N/200)
lookups under 240/min, the two kinds side by side. Each kind's requests go one at a time, each
as soon as the throttles allow and the previous one has answered (its latency): the time the
last of them answers, the larger of the two kinds, is the floor (`floor_seconds`). The
throttles alone (no latency) would allow `pacing.paced_seconds` of the same requests, shown
beside it.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Iterator

import attrs
import httpx
from simulation import run_simulated

from posthog_persons import AsyncPersonsClient, Budget
from posthog_persons.pacing import paced_seconds

API_KEY = "phx_bench_erasure_key_0123456789abcdef"
HOST = "https://erasure.bench"
#: The server's throttles per personal API key (posthog/api/person.py get_throttles:
#: PersonsDeleteBurstThrottle 480/minute + PersonsDeleteSustainedThrottle 4800/hour for the
#: delete actions; posthog/rate_limit.py ClickHouseBurstRateThrottle 240/minute for the rest).
SERVER_THROTTLES = {
    "delete": (Budget(480, 60.0), Budget(4800, 3600.0)),
    "read": (Budget(240, 60.0),),
}
BULK_DELETE_SIZE, LOOKUP_SIZE = 1000, 200


@attrs.frozen
class Latency:
    """Seconds the modelled server takes per request (a model: the real ones vary)."""

    lookup: float = 0.2  # batch_by_distinct_ids, 200 ids
    delete: float = 0.5  # bulk_delete, 1000 ids


class _Throttle:
    """One DRF SimpleRateThrottle: a request is refused when `limit` are within `seconds`."""

    def __init__(self, budget: Budget) -> None:
        self.budget, self.history = budget, deque[float]()

    def allow(self, now: float) -> float:
        """0 (and the request is counted) or the seconds until it would be allowed."""
        while self.history and self.history[0] <= now - self.budget.seconds:
            self.history.popleft()
        if len(self.history) >= self.budget.limit:
            return self.history[0] + self.budget.seconds - now
        self.history.append(now)
        return 0.0


class ErasureServer:
    """A fake PostHog answering batch lookups and bulk deletes instantly, after the modelled
    latency on the loop's clock. It holds no persons: every `found_every`-th id (by the number
    in `u<hex>`) exists, so that the client's bookkeeping stays small at 10^7 ids while the
    requests it must send are the same as for a project where every id exists."""

    def __init__(self, latency: Latency, found_every: int) -> None:
        self.latency, self.found_every = latency, found_every
        self.throttles = {
            kind: [_Throttle(b) for b in SERVER_THROTTLES[kind]] for kind in SERVER_THROTTLES
        }
        self.requests = {"delete": 0, "read": 0}
        self.throttled = 0
        self.persons_deleted = 0

    def _exists(self, distinct_id: str) -> bool:
        return int(distinct_id[1:], 16) % self.found_every == 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        path = request.url.path
        kind = "delete" if path.endswith("/bulk_delete/") else "read"
        self.requests[kind] += 1
        # DRF checks every throttle and counts the request in those that allow it.
        waits = [throttle.allow(loop.time()) for throttle in self.throttles[kind]]
        if any(waits):
            self.throttled += 1
            retry_after = str(math.ceil(max(waits)))
            return httpx.Response(
                429, headers={"Retry-After": retry_after}, json={"detail": "Request was throttled."}
            )
        body = json.loads(request.content)
        if path.endswith("/batch_by_distinct_ids/"):
            await asyncio.sleep(self.latency.lookup)
            found = {
                did: {"id": int(did[1:], 16), "uuid": _uuid_of(did), "distinct_ids": [did]}
                for did in body["distinct_ids"]
                if self._exists(did)
            }
            return httpx.Response(200, json={"results": found})
        if path.endswith("/bulk_delete/"):
            await asyncio.sleep(self.latency.delete)
            found = sum(1 for did in body.get("distinct_ids", ()) if self._exists(did))
            self.persons_deleted += found
            return httpx.Response(
                202,
                json={
                    "persons_found": found,
                    "persons_deleted": found,
                    "events_queued_for_deletion": bool(found and body.get("delete_events")),
                    "recordings_queued_for_deletion": False,
                    "deletion_errors": [],
                },
            )
        return httpx.Response(404, json={"detail": "Not found."})


def _uuid_of(distinct_id: str) -> str:
    digits = f"{int(distinct_id[1:], 16):032x}"
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-8{digits[17:20]}-{digits[20:]}"


def found_every(ids: int) -> int:
    """1 in how many ids the fake server knows: all up to 10^5, then 1 in 100 (the client keeps
    the UUIDs of the persons it found: 10^5 of them at 10^7 ids instead of 10^7)."""
    return 1 if ids <= 100_000 else 100


def distinct_ids(count: int) -> Iterator[str]:
    """`count` distinct ids, generated as they are consumed (the client streams iterators)."""
    return (f"u{i:x}" for i in range(count))


def requests_needed(ids: int, delete_events: bool) -> dict[str, int]:
    lookups = math.ceil(ids / LOOKUP_SIZE) if delete_events else 0
    return {"delete": math.ceil(ids / BULK_DELETE_SIZE), "read": lookups}


def _one_at_a_time(requests: int, budgets: tuple[Budget, ...], latency: float) -> float:
    """When the last of `requests` answers, sent one after another, each as soon as both the
    previous answer and the throttles allow it."""
    throttles = [_Throttle(budget) for budget in budgets]
    now = 0.0
    for _ in range(requests):
        while wait := max((t.allow(now) for t in throttles), default=0.0):
            now += wait
        now += latency
    return now


def floor_seconds(ids: int, delete_events: bool, latency: Latency) -> float:
    needed = requests_needed(ids, delete_events)
    return max(
        _one_at_a_time(needed["delete"], SERVER_THROTTLES["delete"], latency.delete),
        _one_at_a_time(needed["read"], SERVER_THROTTLES["read"], latency.lookup),
    )


def throttle_seconds(ids: int, delete_events: bool) -> float:
    """What the throttles alone impose (no latency): the longer of the two kinds."""
    needed = requests_needed(ids, delete_events)
    return max(paced_seconds(needed[kind], SERVER_THROTTLES[kind], [], 0.0) for kind in needed)


@attrs.frozen
class Erasure:
    ids: int
    delete_events: bool
    simulated_s: float
    floor_s: float
    throttles_s: float
    deletes: int
    lookups: int
    throttled: int
    persons_deleted: int
    real_s: float

    @property
    def ratio(self) -> float:
        return self.simulated_s / self.floor_s


def erase(ids: int, delete_events: bool, latency: Latency | None = None) -> Erasure:
    """One simulated `bulk_delete(distinct_ids=..., delete_events=...)` of `ids` ids."""
    latency = latency or Latency()
    server = ErasureServer(latency, found_every=found_every(ids))

    async def main() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        async with AsyncPersonsClient(
            API_KEY, project_id=1, host=HOST, transport=httpx.MockTransport(server),
            clock=loop.time, sleep=asyncio.sleep,
        ) as client:  # fmt: skip
            started = loop.time()
            result = await client.bulk_delete(
                distinct_ids=distinct_ids(ids), delete_events=delete_events
            )
            return loop.time() - started, result.persons_deleted

    started = time.perf_counter()
    simulated, deleted = run_simulated(main())
    assert deleted == server.persons_deleted
    return Erasure(
        ids=ids,
        delete_events=delete_events,
        simulated_s=simulated,
        floor_s=floor_seconds(ids, delete_events, latency),
        throttles_s=throttle_seconds(ids, delete_events),
        deletes=server.requests["delete"],
        lookups=server.requests["read"],
        throttled=server.throttled,
        persons_deleted=deleted,
        real_s=time.perf_counter() - started,
    )
