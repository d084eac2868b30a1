"""An in-memory emulator of the 2026 PostHog persons API, for tests, demos and benchmarks.

    fake = FakePostHog(persons=250, seed=7)
    with httpx.Client(transport=fake.transport(), base_url=fake.host) as client: ...
    with fake.serve(port=0) as server: ...  # real HTTP at server.url

or from a shell: ``python -m posthog_persons.testing --port 0 --persons 10000``.

Knobs (keyword arguments of `FakePostHog`), all deterministic for a given `seed`:

- `scopes`: the default key's scopes. As on the server, `X:write` grants `X:read` too, `*`
  grants every declared scope, and an empty list is a legacy key allowed everything (the
  only kind of key the legacy `funnel`/`trends`/`lifecycle`/`properties_timeline` accept).
  `fake.add_api_key(key, scopes)` adds more keys.
- `latency`: seconds added to every request (asyncio.sleep on the async transport).
- `throttle=True`: the 2026 server's rate limits for personal API keys: 240/minute for every
  non-delete persons request (no hourly cap), 480/minute + 4800/hour for the delete actions
  (`destroy`, `bulk_delete`, `delete_events`, `delete_recordings`), per key.
  `rate_limit_per_minute`, `rate_limit_per_hour`, `delete_rate_limit_per_minute`,
  `delete_rate_limit_per_hour` set one budget (and turn throttling on: the others take the
  server's values). Over budget: 429 `throttled_error` with `Retry-After` (seconds until every
  refusing window has room). As in DRF, a window that allows a request records it even when
  another refuses.
- `fault_rate`: share of requests answered 502, 503 or with a dropped connection.
- `deletion_delay`: seconds before a queued event deletion turns `completed`.
- `property_update_delay`: seconds before an accepted property edit or split is visible.
- `queued_deletion=True`: answer `bulk_delete` as newer deployments do, `persons_deleted: 0`
  and `persons_queued_for_deletion: N`; the profiles vanish `queued_deletion_delay` seconds
  later on the emulator's clock (`fake.queued_for_deletion` lists them until then).
- `undeletable=[uuid, ...]` or `fake.make_undeletable(uuid, ...)` (undo: `make_deletable`):
  `bulk_delete` fails to delete these profiles: they count in `persons_found`, not in
  `persons_deleted`, come back as `{"person_uuid": uuid}` in `deletion_errors` and are kept
  (their event deletion is still queued, as the server does for every person found).
- `clock` and `fake.advance(seconds)`: the emulator's time (throttles, delays).
- `validate` (default True), `schema_path`: check every request and answer against the
  committed schema with openapi-core (environments paths against the projects operation).

Misbehaving on purpose (for a client's defences; see each method's docstring):

- `fake.override(operation_id, status=, json=, body=, headers=, times=)`: the next calls of an
  operation answer this instead (handler not run); `json` may be a callable of the
  `EmulatorRequest` (e.g. to echo a header, or `endless_empty_pages`: empty pages whose `next`
  always advances).
- `fake.transform(operation_id, fn, times=)`: the handler runs, `fn(body)` rewrites its JSON.
- `fake.trickle(operation_id, delay=, chunk=, times=)`: the answer's body arrives slowly.
- `fake.clear_overrides(operation_id=None)`.

`fake.requests` is the request log (method, path, query, body, headers with the key
redacted, status, operation, fault, rewritten); operations are named by their upstream
operation id (`persons_list`, `persons_bulk_delete_create`, ...; `funnel`, `trends`,
`lifecycle` for the legacy actions).
"""

from ._contract import EmulatorContractError, find_schema
from ._fake import DEFAULT_API_KEY, DEFAULT_SCOPES, FakePostHog
from ._http import EmulatorRequest, EmulatorResponse
from ._pipeline import RecordedRequest
from ._rewrites import endless_empty_pages
from ._routes import OPERATIONS
from ._server import EmulatorServer
from ._transport import EmulatorAsyncTransport, EmulatorTransport

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SCOPES",
    "OPERATIONS",
    "EmulatorAsyncTransport",
    "EmulatorContractError",
    "EmulatorRequest",
    "EmulatorResponse",
    "EmulatorServer",
    "EmulatorTransport",
    "FakePostHog",
    "RecordedRequest",
    "endless_empty_pages",
    "find_schema",
]
