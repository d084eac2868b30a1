"""PersonsClient and AsyncPersonsClient: twins of one design, thin drivers of `_jobs`.

Each method validates its arguments and builds a flow in `_jobs` (shared by both clients), then
drives it: `_perform` performs one action, a sleep or a call: the request is built by the
generated operation module, sent through the client's httpx pool, and its body read by
`_convert` (never by the generated models: see `_calls`).
Both own one pooled httpx client whose transport paces and retries every request
(`_transport`), with an auth that sends the key to the configured host only.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx
from posthog_persons_api.client import Client

from . import _jobs
from ._calls import Outcome, Reply
from ._config import Settings, resolve
from ._jobs import BeforeBatch, OnProgress
from ._sansio import Action, Call, Job, Sleep, adrive, arun, drive, run
from ._transport import AsyncPacedRetryTransport, BearerAuth, PacedRetryTransport
from .batching import BULK_DELETE_BATCH
from .errors import ConfigurationError
from .models import BulkDeleteResult, DeletionStatus, DeletionWaitResult, Person
from .pacing import DEFAULT_RATE_LIMITS, Pacer, RateLimits
from .retry import RetryPolicy

__all__ = ["AsyncPersonsClient", "PersonsClient"]

_USER_AGENT = "posthog-persons-python"
SyncSleep = Callable[[float], object]
AsyncSleep = Callable[[float], Awaitable[object]]
T = TypeVar("T")
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
SleepT = TypeVar("SleepT", SyncSleep, AsyncSleep)


class _BaseClient(Generic[TransportT, SleepT]):
    """Settings, the generated client and the operation lookup shared by both twins."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        project_id: int | str | None = None,
        environment_id: int | str | None = None,
        host: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        transport: TransportT | None = None,
        rate_limits: RateLimits | None = DEFAULT_RATE_LIMITS,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: SleepT | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._settings: Settings = resolve(
            api_key, project_id=project_id, environment_id=environment_id, host=host, stacklevel=3
        )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(
                f"timeout must be a positive number, got {timeout!r}", setting="timeout"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be an integer >= 0, got {max_retries!r}", setting="max_retries"
            )
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._pacer = self._pacing(pacer, rate_limits, clock)
        self._clock = clock
        self._timeout = timeout
        self._sleep: SleepT = sleep if sleep is not None else self._default_sleep()
        self._modules: dict[str, ModuleType] = {}
        self._base_url = str(self._settings.origin)
        # The plain generated Client: the key lives in the httpx client's auth, not in an
        # AuthenticatedClient whose attrs repr would print it.
        self._api = Client(base_url=str(self._settings.origin))
        self._connect(transport)

    #: (default transport, pacing/retry wrapper, httpx client class)
    _HTTPX: ClassVar[tuple[Any, Any, Any]]
    _http: Any

    @staticmethod
    def _pacing(
        pacer: Pacer | None, rate_limits: RateLimits | None, clock: Callable[[], float]
    ) -> Pacer | None:
        """The pacer of this client: a shared one (`pacer=`), or its own over `rate_limits`."""
        if pacer is None:
            return Pacer(rate_limits, clock=clock) if rate_limits is not None else None
        if not isinstance(pacer, Pacer):
            raise ConfigurationError(
                f"pacer must be a posthog_persons.pacing.Pacer, got {pacer!r}", setting="pacer"
            )
        if rate_limits is not DEFAULT_RATE_LIMITS:
            raise ConfigurationError(
                "pass rate_limits= or pacer= (which has its own limits), not both",
                setting="pacer",
            )
        return pacer

    def _default_sleep(self) -> SleepT:
        raise NotImplementedError

    def _connect(self, transport: TransportT | None) -> None:
        """Build the pooled, paced httpx client and hand it to the generated client."""
        default, paced_cls, client_cls = self._HTTPX
        paced = paced_cls(
            transport or default(), policy=self._policy, pacer=self._pacer, sleep=self._sleep
        )
        self._http = client_cls(transport=paced, **self._httpx_options())
        if isinstance(self._http, httpx.AsyncClient):
            self._api.set_async_httpx_client(self._http)
        else:
            self._api.set_httpx_client(self._http)

    def _httpx_options(self) -> dict[str, Any]:
        origin = self._settings.origin
        return {
            "base_url": str(origin),
            "auth": BearerAuth(self._settings.api_key, origin),
            "timeout": httpx.Timeout(self._timeout),
            "headers": {"User-Agent": _USER_AGENT},
            "follow_redirects": False,
        }

    @property
    def api(self) -> Client:
        """The generated client (posthog_persons_api), sharing this client's paced httpx pool."""
        return self._api

    @property
    def host(self) -> str:
        return str(self._settings.origin)

    @property
    def project_id(self) -> str:
        return self._settings.project_id

    @property
    def scope(self) -> str:
        """Always "projects": every request goes to /api/projects/{project_id}/ (an
        environment_id, deprecated, is sent there as the project id)."""
        return "projects"

    @property
    def pacer(self) -> Pacer | None:
        """The pacer of this client's requests (pass it as `pacer=` to share it)."""
        return self._pacer

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, project_id={self.project_id!r})"

    def _operation(self, op: str) -> ModuleType:
        """The generated module of one operation (pinned in `_operations`), imported once."""
        module = self._modules.get(op)
        if module is None:
            module = self._modules[op] = importlib.import_module(f"{_OPERATIONS}.{op}")
        return module

    def _request(self, call: Call) -> dict[str, Any]:
        """The httpx request kwargs of one call, from its operation's public build_request.

        The query is encoded here, by httpx's own QueryParams, into an absolute URL: httpx
        then parses one URL instead of merging a base URL, a path and a params dict (about a
        third of its request-building cost, on every page of an iteration)."""
        module = self._operation(call.op)
        kwargs = call.kwargs
        if call.body is not None:
            kwargs = {**kwargs, "body": module.body_from_dict(call.body)}
        request: dict[str, Any] = module.build_request(self.project_id, **kwargs)
        params = request.pop("params", None)
        query = f"?{httpx.QueryParams(params)}" if params else ""
        request["url"] = f"{self._base_url}{request['url']}{query}"
        return request

    def _outcome(self, call: Call) -> Outcome:
        return Outcome(
            self._settings.origin, self._settings.api_key, about_a_person="id" in call.kwargs
        )


_OPERATIONS = "posthog_persons_api.api.persons"


class PersonsClient(_BaseClient[httpx.BaseTransport, "SyncSleep"]):
    """The PostHog persons API, for the jobs people come for.

    `PersonsClient(api_key=None, *, project_id=None, host=None, timeout=30.0, max_retries=5,
    transport=None, rate_limits=DEFAULT_RATE_LIMITS, pacer=None)`

    Unset settings come from POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID and POSTHOG_HOST
    (default https://us.posthog.com). `environment_id=` / POSTHOG_ENVIRONMENT_ID are a
    deprecated alias of the project id (DeprecationWarning). A missing or malformed setting
    raises ConfigurationError here, before any request. `transport` replaces the network
    (tests, emulators); `rate_limits=None` switches pacing off; `pacer=` shares one Pacer
    between clients of the same key (the server counts per key); `retry_policy` overrides
    `max_retries` and the backoff; `clock` and `sleep` are injectable for tests.
    Use it as a context manager, or call `close()`.
    """

    _HTTPX = (httpx.HTTPTransport, PacedRetryTransport, httpx.Client)
    _http: httpx.Client

    def _default_sleep(self) -> SyncSleep:
        return time.sleep

    def _perform(self, action: Action) -> Reply | None:
        if isinstance(action, Sleep):
            self._sleep(action.seconds)
            return None
        assert isinstance(action, Call)
        with self._outcome(action) as outcome:
            outcome.response = self._http.request(**self._request(action))
        return outcome.reply()

    def _run(self, job: Job[T]) -> T:
        return run(job, self._perform)

    # --- reading ----------------------------------------------------------------------------
    def iter_persons(
        self,
        *,
        search: str | None = None,
        email: str | None = None,
        distinct_id: str | None = None,
        properties: Iterable[Mapping[str, Any]] | None = None,
        page_size: int = 100,
    ) -> Iterator[Person]:
        """Every person matching the filters, newest first, page by page (constant memory).

        `properties` is a list of filters like
        `[{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}]`.
        """
        flow = _jobs.iter_persons(
            self._settings.origin, search=search, email=email, distinct_id=distinct_id,
            properties=properties, page_size=page_size,
        )  # fmt: skip
        return drive(flow, self._perform)

    def get_person(self, person_id: int | str) -> Person:
        """One person by numeric id or UUID (not a distinct id: use iter_persons(distinct_id=))."""
        return self._run(_jobs.get_person(person_id))

    def get_persons_by_distinct_ids(self, ids: Iterable[str]) -> dict[str, Person]:
        """{distinct_id: Person} for those found; any number, 200 per call, deduplicated."""
        return self._run(_jobs.lookup("distinct_ids", ids))

    def get_persons_by_uuids(self, uuids: Iterable[str]) -> dict[str, Person]:
        """{uuid: Person} for those found (canonical lowercase UUID keys); 200 per call."""
        return self._run(_jobs.lookup("uuids", uuids))

    # --- editing ----------------------------------------------------------------------------
    def update_properties(self, person_id: int | str, properties: Mapping[str, Any]) -> None:
        """Set properties ($set); applied asynchronously by the server (HTTP 202)."""
        self._run(_jobs.update_properties(person_id, properties))

    def delete_property(self, person_id: int | str, key: str) -> None:
        """Remove one property ($unset)."""
        self._run(_jobs.delete_property(person_id, key))

    # --- erasure ----------------------------------------------------------------------------
    def bulk_delete(
        self,
        *,
        distinct_ids: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        delete_events: bool = False,
        delete_recordings: bool = False,
        keep_person: bool = False,
        batch_size: int = BULK_DELETE_BATCH,
        before_batch: BeforeBatch | None = None,
        on_progress: OnProgress | None = None,
    ) -> BulkDeleteResult:
        """Delete persons by UUID (`ids`) or by distinct id, any number, `batch_size` (at most
        and by default 1000) per call.

        Streams any iterable: a collection is validated whole first, an iterator batch by
        batch (see posthog_persons.batching). Duplicates are sent once. With
        delete_events/delete_recordings, each batch is first looked up (by distinct id or by
        UUID, 200 a lookup) and `person_uuids` holds exactly the persons that exist: the
        server queues deletions only for those it finds.
        Hooks, for journals: `before_batch(BulkDeleteBatch)` just before each batch is sent
        (number, field, the exact ids, their person UUIDs); `on_progress(BulkDeleteProgress)`
        after each confirmed batch (running totals, and `.batch`, what the server confirmed).
        A batch that fails after the retries raises BulkDeleteError (also of the cause's class,
        e.g. PermissionDeniedError) with the counts done and `remaining` ids, to resume with.
        """
        flow = _jobs.bulk_delete(
            ids=ids, distinct_ids=distinct_ids, delete_events=delete_events,
            delete_recordings=delete_recordings, keep_person=keep_person, batch_size=batch_size,
            before_batch=before_batch, on_progress=on_progress,
        )  # fmt: skip
        return self._run(flow)

    def deletion_status(
        self, *, person_uuids: Iterable[str] | None = None, status: str = "all"
    ) -> Iterator[DeletionStatus]:
        """Queued event deletions, newest first; `status` is "pending", "completed" or "all".

        With `person_uuids`: up to 20 UUIDs are asked for one by one (`person_uuid=`); more
        are found by paging through the list once and keeping theirs.
        """
        flow = _jobs.deletion_status(
            self._settings.origin, person_uuids=person_uuids, status=status
        )
        return drive(flow, self._perform)

    def wait_for_deletions(
        self,
        person_uuids: Iterable[str],
        *,
        timeout: float,
        poll_interval: float = 60.0,
        delete_events: bool = True,
        keep_person: bool = False,
    ) -> DeletionWaitResult:
        """Poll until these persons are erased, nothing can change any more, or `timeout`.

        Erased means: the event deletion is completed (with `delete_events`, as passed to
        bulk_delete) and the person no longer exists (unless `keep_person`). The first round
        reads the deletion records of every status, later rounds only the pending list, with
        large pages (STATUS_PAGE_SIZE), so a round costs about ceil(list / page) requests
        however many UUIDs are awaited (up to 20 are asked for one by one); once no event
        deletion is pending, the persons are looked up by UUID, 200 a request.
        The result sorts every UUID into completed / pending / unknown (no record: never
        counted completed) / still_existing; `done` only when all are completed. Slowness,
        rate limits and transient errors never raise: `done=False` at the timeout. `timeout=0`:
        one round, no sleep. The timeout is checked between rounds: a request of the last
        round that is being retried (Retry-After, backoff) can carry the return past it by the
        retry policy's waits.
        """
        flow = _jobs.wait_for_deletions(
            self._settings.origin, person_uuids, timeout=timeout, poll_interval=poll_interval,
            clock=self._clock, delete_events=delete_events, keep_person=keep_person,
        )  # fmt: skip
        return self._run(flow)

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncPersonsClient(_BaseClient[httpx.AsyncBaseTransport, "AsyncSleep"]):
    """Async twin of PersonsClient: the same methods, with `await` and `async for`."""

    _HTTPX = (httpx.AsyncHTTPTransport, AsyncPacedRetryTransport, httpx.AsyncClient)
    _http: httpx.AsyncClient

    def _default_sleep(self) -> AsyncSleep:
        return asyncio.sleep

    async def _perform(self, action: Action) -> Reply | None:
        if isinstance(action, Sleep):
            await self._sleep(action.seconds)
            return None
        assert isinstance(action, Call)
        with self._outcome(action) as outcome:
            outcome.response = await self._http.request(**self._request(action))
        return outcome.reply()

    async def _run(self, job: Job[T]) -> T:
        return await arun(job, self._perform)

    def iter_persons(
        self,
        *,
        search: str | None = None,
        email: str | None = None,
        distinct_id: str | None = None,
        properties: Iterable[Mapping[str, Any]] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Person]:
        """Async twin of PersonsClient.iter_persons (use `async for`)."""
        flow = _jobs.iter_persons(
            self._settings.origin, search=search, email=email, distinct_id=distinct_id,
            properties=properties, page_size=page_size,
        )  # fmt: skip
        return adrive(flow, self._perform)

    async def get_person(self, person_id: int | str) -> Person:
        """Async twin of PersonsClient.get_person."""
        return await self._run(_jobs.get_person(person_id))

    async def get_persons_by_distinct_ids(self, ids: Iterable[str]) -> dict[str, Person]:
        """Async twin of PersonsClient.get_persons_by_distinct_ids."""
        return await self._run(_jobs.lookup("distinct_ids", ids))

    async def get_persons_by_uuids(self, uuids: Iterable[str]) -> dict[str, Person]:
        """Async twin of PersonsClient.get_persons_by_uuids."""
        return await self._run(_jobs.lookup("uuids", uuids))

    async def update_properties(self, person_id: int | str, properties: Mapping[str, Any]) -> None:
        """Async twin of PersonsClient.update_properties."""
        await self._run(_jobs.update_properties(person_id, properties))

    async def delete_property(self, person_id: int | str, key: str) -> None:
        """Async twin of PersonsClient.delete_property."""
        await self._run(_jobs.delete_property(person_id, key))

    async def bulk_delete(
        self,
        *,
        distinct_ids: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        delete_events: bool = False,
        delete_recordings: bool = False,
        keep_person: bool = False,
        batch_size: int = BULK_DELETE_BATCH,
        before_batch: BeforeBatch | None = None,
        on_progress: OnProgress | None = None,
    ) -> BulkDeleteResult:
        """Async twin of PersonsClient.bulk_delete (`ids` may be any iterable, not async;
        the hooks are plain functions, called in the event loop)."""
        flow = _jobs.bulk_delete(
            ids=ids, distinct_ids=distinct_ids, delete_events=delete_events,
            delete_recordings=delete_recordings, keep_person=keep_person, batch_size=batch_size,
            before_batch=before_batch, on_progress=on_progress,
        )  # fmt: skip
        return await self._run(flow)

    def deletion_status(
        self, *, person_uuids: Iterable[str] | None = None, status: str = "all"
    ) -> AsyncIterator[DeletionStatus]:
        """Async twin of PersonsClient.deletion_status (use `async for`)."""
        flow = _jobs.deletion_status(
            self._settings.origin, person_uuids=person_uuids, status=status
        )
        return adrive(flow, self._perform)

    async def wait_for_deletions(
        self,
        person_uuids: Iterable[str],
        *,
        timeout: float,
        poll_interval: float = 60.0,
        delete_events: bool = True,
        keep_person: bool = False,
    ) -> DeletionWaitResult:
        """Async twin of PersonsClient.wait_for_deletions."""
        flow = _jobs.wait_for_deletions(
            self._settings.origin, person_uuids, timeout=timeout, poll_interval=poll_interval,
            clock=self._clock, delete_events=delete_events, keep_person=keep_person,
        )  # fmt: skip
        return await self._run(flow)

    async def close(self) -> None:
        await self._http.aclose()

    aclose = close

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.close()
