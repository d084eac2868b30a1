"""An in-memory emulator of the PostHog persons API, for tests, demos and benchmarks.

    fake = FakePostHog(persons=250, seed=7)
    with httpx.Client(transport=fake.transport(), base_url=fake.host) as client: ...
    with fake.serve(port=0) as server: ...  # real HTTP at server.url

or from a shell: ``python -m posthog_persons.testing --port 0 --persons 10000``.

Knobs (keyword arguments of `FakePostHog`), all deterministic for a given `seed`:

- `latency`: seconds added to every request (asyncio.sleep on the async transport).
- `rate_limit_per_minute`, `rate_limit_per_hour`: budget of the non-delete requests, per key.
- `delete_rate_limit_per_minute`, `delete_rate_limit_per_hour`: budget of the delete actions
  (`destroy`, `bulk_delete`, `delete_events`, `delete_recordings`), per key. Once any rate
  limit is given, an unset delete limit takes the server's value: 480/minute, 4800/hour.
  Over budget: 429 `throttled_error` with `Retry-After` (seconds until every refusing window
  has room). As in DRF, a window that allows a request records it even when another refuses.
- `fault_rate`: share of requests answered 502, 503 or with a dropped connection.
- `deletion_delay`: seconds before a queued event deletion turns `completed`.
- `property_update_delay`: seconds before an accepted property edit or split is visible.
- `undeletable=[uuid, ...]` or `fake.make_undeletable(uuid, ...)` (undo: `make_deletable`):
  `bulk_delete` fails to delete these persons: they count in `persons_found`, not in
  `persons_deleted`, come back as `{"person_uuid": uuid}` in `deletion_errors`, are kept,
  and get no event deletion queued.
- `clock` and `fake.advance(seconds)`: the emulator's time (throttles, delays).
- `fake.requests`: the request log (method, path, query, body, headers with the key
  redacted, status, operation, fault).
"""

from ._contract import EmulatorContractError, find_schema
from ._core import (
    DEFAULT_API_KEY,
    DEFAULT_SCOPES,
    EmulatorResponse,
    FakePostHog,
    RecordedRequest,
)
from ._server import EmulatorServer
from ._transport import EmulatorAsyncTransport, EmulatorTransport

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SCOPES",
    "EmulatorAsyncTransport",
    "EmulatorContractError",
    "EmulatorResponse",
    "EmulatorServer",
    "EmulatorTransport",
    "FakePostHog",
    "RecordedRequest",
    "find_schema",
]
