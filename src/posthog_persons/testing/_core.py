"""The in-memory, deterministic PostHog persons server that both adapters drive."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import threading
import time
import uuid as uuid_module
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs

from ._contract import ContractRequest, ContractValidator, EmulatorContractError, find_schema
from ._data import StoredPerson, format_datetime, generate_persons, random_uuid

if TYPE_CHECKING:
    import httpx

    from ._server import EmulatorServer
    from ._transport import EmulatorAsyncTransport, EmulatorTransport

DEFAULT_API_KEY = "phx_fake_emulator_key"
DEFAULT_SCOPES = ("person:read", "person:write", "activity_log:read", "cohort:read")
# The server's budget for delete actions once throttling applies (per key): 480 a minute and
# 4800 an hour, two DRF throttles checked together.
DEFAULT_DELETE_RATE_LIMIT = 480
DEFAULT_DELETE_RATE_LIMIT_PER_HOUR = 4800
BULK_DELETE_MAX = 1000
BATCH_LOOKUP_MAX = 200
BATCH_MAX_DISTINCT_IDS = 10
DEFAULT_LIMIT = 100
_MINUTE = 60.0
_HOUR = 3600.0

DELETE_ACTIONS = frozenset({"destroy", "bulk_delete", "delete_events", "delete_recordings"})
_WRITE_ACTIONS = frozenset(
    {
        "update",
        "partial_update",
        "update_property",
        "delete_property",
        "split",
        "reset_person_distinct_id",
        *DELETE_ACTIONS,
    }
)
# Endpoints whose errors are `{"error": ...}` rather than DRF's body.
_PLAIN_ERROR_ACTIONS = frozenset({"properties_at_time"})
_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})
_NOT_A_PERSON_ID = (
    "The ID provided does not look like a personID. If you are using a distinctId, "
    "please use /persons?distinct_id={id} instead."
)

FaultKind = Literal["502", "503", "disconnect"]
_FAULT_KINDS: tuple[FaultKind, ...] = ("502", "503", "disconnect")


@attrs.frozen
class EmulatorResponse:
    """What the core answers; `disconnect` means: drop the connection, send nothing."""

    status: int
    headers: dict[str, str]
    body: bytes
    disconnect: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen
class RecordedRequest:
    """One request as the emulator saw it. The API key itself is never kept."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    authorized: bool
    status: int
    operation: str | None
    fault: FaultKind | None
    at: float


@attrs.frozen
class DeletionRecord:
    person_uuid: str
    created_at: datetime
    sequence: int


@attrs.define
class _PendingChange:
    due: float
    apply: Callable[[], None]


class _ApiError(Exception):
    """Raised by handlers to answer an error; carries the full response."""

    def __init__(self, response: EmulatorResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> EmulatorResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return EmulatorResponse(status, {"Content-Type": "application/json", **(headers or {})}, body)


def _empty(status: int) -> EmulatorResponse:
    return EmulatorResponse(status, {}, b"")


def drf_error(
    status: int, error_type: str, code: str, detail: str, attr: str | None = None
) -> EmulatorResponse:
    return _json_response(
        status, {"type": error_type, "code": code, "detail": detail, "attr": attr}
    )


def _invalid(detail: str, attr: str | None = None, code: str = "invalid_input") -> _ApiError:
    return _ApiError(drf_error(400, "validation_error", code, detail, attr))


def _not_found(detail: str = "Not found.") -> _ApiError:
    return _ApiError(drf_error(404, "invalid_request", "not_found", detail))


def _plain_error(status: int, message: str) -> _ApiError:
    return _ApiError(_json_response(status, {"error": message}))


def _is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def _canonical(value: Any) -> str:
    """Compare property values the lenient way the server does (`"5" == 5`, `"true" == True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _parse_timestamp(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@attrs.define
class _Route:
    pattern: re.Pattern[str]
    actions: dict[str, str]


def _routes() -> list[_Route]:
    def route(suffix: str, **actions: str) -> _Route:
        # The server's router makes the trailing slash optional.
        return _Route(re.compile(f"^{suffix}/?$"), {m.upper(): a for m, a in actions.items()})

    person = r"(?P<id>[^/]+)"
    return [
        route("", get="list"),
        route("activity", get="activity"),
        route("batch_by_distinct_ids", post="batch_by_distinct_ids"),
        route("batch_by_uuids", post="batch_by_uuids"),
        route("bulk_delete", post="bulk_delete"),
        route("cohorts", get="cohorts"),
        route("deletion_status", get="deletion_status"),
        route("funnel", get="funnel", post="funnel"),
        route("funnel/correlation", get="funnel_correlation", post="funnel_correlation"),
        route("lifecycle", get="lifecycle"),
        route("properties_at_time", get="properties_at_time"),
        route("reset_person_distinct_id", post="reset_person_distinct_id"),
        route("stickiness", get="stickiness"),
        route("trends", get="trends"),
        route("values", get="values"),
        route(person, get="retrieve", put="update", patch="partial_update", delete="destroy"),
        route(f"{person}/activity", get="person_activity"),
        route(f"{person}/delete_events", post="delete_events"),
        route(f"{person}/delete_property", post="delete_property"),
        route(f"{person}/delete_recordings", post="delete_recordings"),
        route(f"{person}/properties_timeline", get="properties_timeline"),
        route(f"{person}/split", post="split"),
        route(f"{person}/update_property", post="update_property"),
    ]


_ROUTES = _routes()
_PREFIX = re.compile(
    r"^/api/(?P<scope>projects|environments)/(?P<project>[^/]+)/persons/(?P<rest>.*)$"
)


def _scope_for(action: str) -> str:
    if action in ("activity", "person_activity"):
        return "activity_log:read"
    if action == "cohorts":
        return "cohort:read"
    return "person:write" if action in _WRITE_ACTIONS else "person:read"


@attrs.define
class _Call:
    """One request being handled, as handlers need it."""

    method: str
    path: str
    base_url: str
    query: dict[str, list[str]]
    query_pairs: list[tuple[str, str]]
    data: Any
    person_ref: str | None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def absolute(self, **replace: int | None) -> str:
        """This request's own absolute URL with some query parameters replaced or removed."""
        pairs = [(k, v) for k, v in self.query_pairs if k not in replace]
        pairs += [(k, str(v)) for k, v in replace.items() if v is not None]
        query = urlencode(pairs)
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")


def _page_bounds(call: _Call, *, strict: bool) -> tuple[int, int]:
    """limit/offset. Strict endpoints answer 400 on junk; the list falls back like DRF."""
    bounds: list[int] = []
    for name, default in (("limit", DEFAULT_LIMIT), ("offset", 0)):
        raw = call.arg(name)
        if raw is None or raw == "":
            bounds.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0 or (name == "limit" and value == 0):
            if strict:
                raise _invalid(f"A valid non-negative integer is required for {name}.", name)
            value = default
        bounds.append(value)
    return bounds[0], bounds[1]


class FakePostHog:
    """An in-memory PostHog persons API: the moto / stripe-mock of this client.

    Every adapter (httpx transports, the HTTP server) funnels into `handle`, so they behave
    identically. State, throttling and faults are deterministic for a given `seed` and
    request order; time comes from `clock` (plus `advance`), never from sleeping.
    """

    def __init__(
        self,
        persons: int | Sequence[Mapping[str, Any]] = 0,
        *,
        seed: int = 0,
        project_id: int = 1,
        api_key: str = DEFAULT_API_KEY,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        latency: float = 0.0,
        rate_limit_per_minute: int | None = None,
        rate_limit_per_hour: int | None = None,
        delete_rate_limit_per_minute: int | None = None,
        delete_rate_limit_per_hour: int | None = None,
        undeletable: Iterable[str] = (),
        fault_rate: float = 0.0,
        deletion_delay: float = 0.0,
        property_update_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        validate: bool = True,
        schema_path: str | Path | None = None,
        host: str = "http://testserver",
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.seed = seed
        self.project_id = project_id
        self.latency = latency
        self.fault_rate = fault_rate
        self.deletion_delay = deletion_delay
        self.property_update_delay = property_update_delay
        self.host = host.rstrip("/")
        self._clock = clock or time.time
        self._offset = 0.0
        for name, value in (
            ("rate_limit_per_minute", rate_limit_per_minute),
            ("rate_limit_per_hour", rate_limit_per_hour),
            ("delete_rate_limit_per_minute", delete_rate_limit_per_minute),
            ("delete_rate_limit_per_hour", delete_rate_limit_per_hour),
        ):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive number of requests")
        # Any rate limit turns throttling on; deletes then get the server's own budget
        # (480/minute and 4800/hour) for whichever of their two limits is not given.
        throttled = any(
            value is not None
            for value in (
                rate_limit_per_minute,
                rate_limit_per_hour,
                delete_rate_limit_per_minute,
                delete_rate_limit_per_hour,
            )
        )
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_per_hour = rate_limit_per_hour
        self.delete_rate_limit_per_minute = (
            delete_rate_limit_per_minute
            if delete_rate_limit_per_minute is not None
            else (DEFAULT_DELETE_RATE_LIMIT if throttled else None)
        )
        self.delete_rate_limit_per_hour = (
            delete_rate_limit_per_hour
            if delete_rate_limit_per_hour is not None
            else (DEFAULT_DELETE_RATE_LIMIT_PER_HOUR if throttled else None)
        )
        self._lock = threading.RLock()
        self._data_rng = random.Random(seed)
        # Separate streams, so that adding a person does not change which request faults.
        self._fault_rng = random.Random(f"faults-{seed}")
        self._keys: dict[str, frozenset[str]] = {api_key: frozenset(scopes)}
        self._default_key = api_key
        self._windows: dict[tuple[str, str, float], deque[float]] = {}
        self._undeletable: set[str] = set()
        self._persons: dict[int, StoredPerson] = {}
        self._by_uuid: dict[str, int] = {}
        self._by_distinct_id: dict[str, int] = {}
        self._ordered: list[StoredPerson] | None = None
        self._next_id = 1
        self._pending: list[_PendingChange] = []
        self._deletions: dict[str, DeletionRecord] = {}
        self._deletion_sequence = 0
        self._requests: list[RecordedRequest] = []
        self.contract_errors: list[EmulatorContractError] = []
        self._validator: ContractValidator | None = None
        if validate:
            path = Path(schema_path) if schema_path is not None else find_schema()
            if path is None:
                raise FileNotFoundError(
                    "validate=True needs openapi/posthog-persons.json or the generated package"
                )
            self._validator = ContractValidator(path)
        self.make_undeletable(*undeletable)
        if isinstance(persons, int):
            for person in generate_persons(persons, self._data_rng, first_id=self._next_id):
                self._store(person)
        else:
            for record in persons:
                self.add_person(**dict(record))

    def __repr__(self) -> str:
        # Deliberately omits the API key.
        return (
            f"FakePostHog(persons={len(self._persons)}, seed={self.seed}, "
            f"project_id={self.project_id}, validate={self._validator is not None})"
        )

    # ----------------------------------------------------------------- state helpers

    def now(self) -> float:
        return self._clock() + self._offset

    def _now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (deletions complete, throttles expire)."""
        with self._lock:
            self._offset += seconds

    @property
    def api_key(self) -> str:
        return self._default_key

    def add_api_key(self, key: str, scopes: Iterable[str]) -> None:
        """Accept another key with its own scopes (e.g. a read-only key to test 403s)."""
        with self._lock:
            self._keys[key] = frozenset(scopes)

    def make_undeletable(self, *person_uuids: str) -> None:
        """Make the server fail to delete these persons (by UUID) in `bulk_delete`.

        Such a person is found but not deleted: it is counted in `persons_found`, not in
        `persons_deleted`, reported as `{"person_uuid": ...}` in `deletion_errors`, kept (still
        listed and retrievable), and gets no event deletion queued. The UUIDs need not belong
        to a person yet.
        """
        with self._lock:
            for value in person_uuids:
                try:
                    canonical = str(uuid_module.UUID(str(value)))
                except ValueError as error:
                    raise ValueError(f"not a person UUID: {value!r}") from error
                self._undeletable.add(canonical)

    def make_deletable(self, *person_uuids: str) -> None:
        """Undo `make_undeletable` for these UUIDs (unknown ones are ignored)."""
        with self._lock:
            for value in person_uuids:
                if _is_uuid(str(value)):
                    self._undeletable.discard(str(uuid_module.UUID(str(value))))

    @property
    def undeletable(self) -> frozenset[str]:
        """The UUIDs `bulk_delete` currently fails to delete."""
        with self._lock:
            return frozenset(self._undeletable)

    def add_person(
        self,
        distinct_ids: Sequence[str] | None = None,
        properties: Mapping[str, Any] | None = None,
        *,
        id: int | None = None,
        uuid: str | None = None,
        created_at: datetime | str | None = None,
        last_seen_at: datetime | str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Create a person now (no asynchrony) and return its API record.

        `name` is accepted and ignored so that API records can be fed back in: the server
        derives it from the properties.
        """
        del name
        with self._lock:
            person_id = id if id is not None else self._next_id
            if person_id in self._persons:
                raise ValueError(f"person id {person_id} exists")
            dids = list(distinct_ids) if distinct_ids else [random_uuid(self._data_rng)]
            for distinct_id in dids:
                if distinct_id in self._by_distinct_id:
                    raise ValueError(f"distinct id {distinct_id!r} belongs to another person")
            person_uuid = str(uuid_module.UUID(uuid)) if uuid else random_uuid(self._data_rng)
            if person_uuid in self._by_uuid:
                raise ValueError(f"uuid {person_uuid} exists")
            created = self._coerce_dt(created_at) or self._now_dt()
            person = StoredPerson(
                id=person_id,
                uuid=person_uuid,
                distinct_ids=dids,
                properties=dict(properties or {}),
                created_at=created,
                last_seen_at=self._coerce_dt(last_seen_at),
            )
            self._store(person)
            return person.to_api()

    @staticmethod
    def _coerce_dt(value: datetime | str | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        parsed = _parse_timestamp(value)
        if parsed is None:
            raise ValueError(f"not an ISO 8601 datetime: {value!r}")
        return parsed

    def _store(self, person: StoredPerson) -> None:
        self._persons[person.id] = person
        self._by_uuid[person.uuid] = person.id
        for distinct_id in person.distinct_ids:
            self._by_distinct_id[distinct_id] = person.id
        self._next_id = max(self._next_id, person.id + 1)
        self._ordered = None

    def _remove(self, person: StoredPerson) -> None:
        self._persons.pop(person.id, None)
        self._by_uuid.pop(person.uuid, None)
        for distinct_id in person.distinct_ids:
            if self._by_distinct_id.get(distinct_id) == person.id:
                del self._by_distinct_id[distinct_id]
        self._ordered = None

    def _sorted(self) -> list[StoredPerson]:
        if self._ordered is None:
            self._ordered = sorted(
                self._persons.values(), key=lambda p: (p.created_at, p.id), reverse=True
            )
        return self._ordered

    @property
    def persons(self) -> list[dict[str, Any]]:
        """Current persons as API records, in list order (pending changes that are due applied)."""
        with self._lock:
            self._apply_due()
            return [p.to_api() for p in self._sorted()]

    def get_person(self, ref: int | str) -> dict[str, Any] | None:
        """A person by numeric id, UUID or distinct id; None when absent."""
        with self._lock:
            self._apply_due()
            person = self._lookup(str(ref))
            if person is None and isinstance(ref, str):
                pid = self._by_distinct_id.get(ref)
                person = self._persons.get(pid) if pid is not None else None
            return person.to_api() if person else None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def pending_changes(self) -> int:
        """Accepted property edits / splits not yet applied (the server applies them later)."""
        with self._lock:
            self._apply_due()
            return len(self._pending)

    def deletion_statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._deletion_api(r) for r in self._deletions_newest_first()]

    # ----------------------------------------------------------------- adapters

    def transport(self) -> EmulatorTransport:
        from ._transport import EmulatorTransport

        return EmulatorTransport(self)

    def async_transport(self) -> EmulatorAsyncTransport:
        from ._transport import EmulatorAsyncTransport

        return EmulatorAsyncTransport(self)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client wired to this emulator and authorised with its key."""
        import httpx

        headers = {"Authorization": f"Bearer {self._default_key}", **kwargs.pop("headers", {})}
        return httpx.Client(
            transport=self.transport(), base_url=self.host, headers=headers, **kwargs
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        import httpx

        headers = {"Authorization": f"Bearer {self._default_key}", **kwargs.pop("headers", {})}
        return httpx.AsyncClient(
            transport=self.async_transport(), base_url=self.host, headers=headers, **kwargs
        )

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> EmulatorServer:
        """Serve over real HTTP on loopback; use as a context manager, `.url` is the base."""
        from ._server import EmulatorServer

        return EmulatorServer(self, host=host, port=port)

    # ----------------------------------------------------------------- the request path

    def handle(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> EmulatorResponse:
        """Answer one request. `url` is absolute or a path with query string."""
        method = method.upper()
        header_map: dict[str, str] = {}
        items = headers.items() if isinstance(headers, Mapping) else (headers or [])
        for key, value in items:
            header_map[key.lower()] = value
        split = urlsplit(url)
        base_url = f"{split.scheme}://{split.netloc}" if split.netloc else self.host
        query_pairs = [(k, v) for k, v in _parse_pairs(split.query)]
        query: dict[str, list[str]] = {}
        for key, value in query_pairs:
            query.setdefault(key, []).append(value)
        raw_body = body or b""
        with self._lock:
            self._apply_due()
            authorized, key = self._authenticate(header_map)
            fault = self._draw_fault()
            operation: str | None = None
            if fault is not None:
                response = _fault_response(fault)
            else:
                response, operation = self._dispatch(
                    method, split.path, base_url, query, query_pairs, header_map, raw_body, key
                )
                if operation is not None:
                    try:
                        self._check_response(
                            method, split.path, query, header_map, raw_body, response
                        )
                    except EmulatorContractError as error:
                        # Kept as well as raised: over real HTTP the raise only reaches
                        # the server thread, so a test asserts on this list instead.
                        self.contract_errors.append(error)
                        raise
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query=query,
                    body=_parsed_or_none(raw_body),
                    headers=_redact(header_map),
                    authorized=authorized,
                    status=response.status,
                    operation=operation,
                    fault=fault,
                    at=self.now(),
                )
            )
        return response

    def _draw_fault(self) -> FaultKind | None:
        if self.fault_rate <= 0.0:
            return None
        if self._fault_rng.random() >= self.fault_rate:
            return None
        return self._fault_rng.choice(_FAULT_KINDS)

    def _authenticate(self, headers: Mapping[str, str]) -> tuple[bool, str | None]:
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token in self._keys:
            return True, token
        return False, None

    def _dispatch(
        self,
        method: str,
        path: str,
        base_url: str,
        query: dict[str, list[str]],
        query_pairs: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        key: str | None,
    ) -> tuple[EmulatorResponse, str | None]:
        match = _PREFIX.match(path)
        route_match: re.Match[str] | None = None
        route: _Route | None = None
        if match:
            for candidate in _ROUTES:
                route_match = candidate.pattern.match(match["rest"])
                if route_match:
                    route = candidate
                    break
        if match is None or route is None or route_match is None:
            return drf_error(404, "invalid_request", "not_found", "Not found."), None
        action = route.actions.get(method)
        # Order as in DRF: authentication, permissions (project, scope), throttling, handler.
        if key is None:
            detail = (
                "Authentication credentials were not provided."
                if "authorization" not in headers
                else "Invalid personal API key."
            )
            error = drf_error(401, "authentication_error", "authentication_failed", detail)
            return error, action
        if action is None:
            detail = f'Method "{method}" not allowed.'
            error = drf_error(405, "invalid_request", "method_not_allowed", detail)
            error.headers["Allow"] = ", ".join([*route.actions, "OPTIONS"])
            return error, None
        if match["project"] not in (str(self.project_id), "@current"):
            error = drf_error(404, "invalid_request", "not_found", "Project not found.")
            return error, action
        scope = _scope_for(action)
        if scope not in self._keys[key]:
            return drf_error(
                403,
                "authentication_error",
                "permission_denied",
                f"API key missing required scope '{scope}'",
            ), action
        throttled = self._throttle(key, action)
        if throttled is not None:
            return throttled, action
        content_type = headers.get("content-type", "application/json")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            # DRF's JSONParser decodes first and answers a parse error.
            return drf_error(
                400, "validation_error", "parse_error", f"JSON parse error - {error}"
            ), action
        if self._validator is not None:
            problem = self._validator.request_problem(
                ContractRequest(method, path, query, headers, body, content_type)
            )
            if problem is not None:
                message, attr = problem
                if action in _PLAIN_ERROR_ACTIONS:
                    return _json_response(400, {"error": message}), action
                return drf_error(
                    400, "validation_error", "invalid_input", f"Invalid request: {message}", attr
                ), action
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as error:
            return drf_error(
                400, "validation_error", "parse_error", f"JSON parse error - {error}"
            ), action
        call = _Call(
            method=method,
            path=path,
            base_url=base_url,
            query=query,
            query_pairs=query_pairs,
            data=data,
            person_ref=route_match.groupdict().get("id"),
        )
        handler: Callable[[_Call], EmulatorResponse] = getattr(self, f"_op_{action}")
        try:
            response = handler(call)
        except _ApiError as error:
            response = error.response
        return response, action

    def _check_response(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        response: EmulatorResponse,
    ) -> None:
        if self._validator is None:
            return
        content_type = response.headers.get("Content-Type", "")
        # CSV exports cannot be checked against a JSON schema.
        if response.body and not content_type.startswith("application/json"):
            return
        request_type = headers.get("content-type", "application/json")
        self._validator.check_response(
            ContractRequest(method, path, query, headers, body, request_type),
            response.status,
            response.headers,
            response.body,
        )

    def _rate_limits(self, bucket: str) -> list[tuple[float, int]]:
        """(window in seconds, requests allowed in it) for one throttle bucket."""
        if bucket == "delete":
            pairs = (
                (_MINUTE, self.delete_rate_limit_per_minute),
                (_HOUR, self.delete_rate_limit_per_hour),
            )
        else:
            pairs = ((_MINUTE, self.rate_limit_per_minute), (_HOUR, self.rate_limit_per_hour))
        return [(window, limit) for window, limit in pairs if limit is not None]

    def _throttle(self, key: str, action: str) -> EmulatorResponse | None:
        """DRF's throttling: every throttle of the view is checked on every request.

        As in DRF's `check_throttles`, a throttle that allows the request records it even when
        another one refuses it (so hammering past the minute limit spends the hourly budget),
        and `Retry-After` is the longest wait of the throttles that refused.
        """
        bucket = "delete" if action in DELETE_ACTIONS else "burst"
        limits = self._rate_limits(bucket)
        if not limits:
            return None
        now = self.now()
        waits: list[float] = []
        for duration, limit in limits:
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

    # ----------------------------------------------------------------- asynchrony

    def _schedule(self, apply: Callable[[], None]) -> None:
        self._pending.append(_PendingChange(self.now() + self.property_update_delay, apply))

    def _apply_due(self) -> None:
        if not self._pending:
            return
        now = self.now()
        due = [c for c in self._pending if c.due <= now]
        if not due:
            return
        self._pending = [c for c in self._pending if c.due > now]
        for change in due:
            change.apply()

    def _set_properties(self, person_uuid: str, values: Mapping[str, Any]) -> Callable[[], None]:
        def apply() -> None:
            pid = self._by_uuid.get(person_uuid)
            if pid is not None:
                self._persons[pid].properties.update(values)

        return apply

    def _unset_property(self, person_uuid: str, key: str) -> Callable[[], None]:
        def apply() -> None:
            pid = self._by_uuid.get(person_uuid)
            if pid is not None:
                self._persons[pid].properties.pop(key, None)

        return apply

    # ----------------------------------------------------------------- lookups

    def _lookup(self, ref: str) -> StoredPerson | None:
        if ref.isdigit():
            return self._persons.get(int(ref))
        if _is_uuid(ref):
            pid = self._by_uuid.get(str(uuid_module.UUID(ref)))
            return self._persons.get(pid) if pid is not None else None
        return None

    def _person_for(self, call: _Call) -> StoredPerson:
        ref = call.person_ref or ""
        if not ref.isdigit() and not _is_uuid(ref):
            raise _invalid(_NOT_A_PERSON_ID.format(id=ref))
        person = self._lookup(ref)
        if person is None:
            raise _not_found()
        return person

    def _queue_event_deletion(self, person: StoredPerson) -> None:
        # One record per person, like the server's unique (team, type, key) constraint.
        if person.uuid in self._deletions:
            return
        self._deletion_sequence += 1
        self._deletions[person.uuid] = DeletionRecord(
            person.uuid, self._now_dt(), self._deletion_sequence
        )

    def _deletions_newest_first(self) -> list[DeletionRecord]:
        return sorted(
            self._deletions.values(), key=lambda r: (r.created_at, r.sequence), reverse=True
        )

    def _deletion_api(self, record: DeletionRecord) -> dict[str, Any]:
        verified = record.created_at + timedelta(seconds=self.deletion_delay)
        done = self._now_dt() >= verified
        return {
            "person_uuid": record.person_uuid,
            "created_at": format_datetime(record.created_at),
            "status": "completed" if done else "pending",
            "delete_verified_at": format_datetime(verified) if done else None,
        }

    # ----------------------------------------------------------------- operations

    def _op_list(self, call: _Call) -> EmulatorResponse:
        limit, offset = _page_bounds(call, strict=False)
        persons: list[StoredPerson] = self._sorted()
        distinct_id = call.arg("distinct_id")
        if distinct_id:
            pid = self._by_distinct_id.get(distinct_id)
            persons = [self._persons[pid]] if pid is not None else []
        email = call.arg("email")
        if email:
            persons = [p for p in persons if p.properties.get("email") == email]
        search = call.arg("search")
        if search:
            needle = search.lower()
            persons = [
                p
                for p in persons
                if needle in str(p.properties.get("email", "")).lower() or search in p.distinct_ids
            ]
        raw_filters = call.arg("properties")
        if raw_filters:
            predicate = _compile_filters(raw_filters)
            persons = [p for p in persons if predicate(p.properties)]
        page = persons[offset : offset + limit]
        if call.arg("format") == "csv":
            return _csv_response(page)
        payload: dict[str, Any] = {
            "results": [p.to_api() for p in page],
            # A full page always advertises a next page, even when nothing follows it.
            "next": call.absolute(limit=limit, offset=offset + limit)
            if len(page) == limit
            else None,
            "previous": _previous(call, limit, offset),
        }
        if "include_total" in call.query:
            payload["count"] = len(persons)
        return _json_response(200, payload)

    def _op_retrieve(self, call: _Call) -> EmulatorResponse:
        return _json_response(200, self._person_for(call).to_api())

    def _properties_update(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        data = call.data
        if not isinstance(data, dict) or "properties" not in data:
            raise _invalid("This field is required.", "properties", code="required")
        if not isinstance(data["properties"], dict):
            raise _invalid("Expected a dictionary of items.", "properties", code="not_a_dict")
        self._schedule(self._set_properties(person.uuid, dict(data["properties"])))
        return _empty(202)

    _op_update = _properties_update
    _op_partial_update = _properties_update

    def _op_update_property(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        data = call.data if isinstance(call.data, dict) else {}
        for field in ("key", "value"):
            if field not in data:
                raise _invalid("This field is required.", field, code="required")
        self._schedule(self._set_properties(person.uuid, {str(data["key"]): data["value"]}))
        return _empty(202)

    def _op_delete_property(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        data = call.data if isinstance(call.data, dict) else {}
        if "$unset" not in data:
            raise _invalid("This field is required.", "$unset", code="required")
        self._schedule(self._unset_property(person.uuid, str(data["$unset"])))
        return _json_response(201, {"success": True})

    def _op_split(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        data = call.data if isinstance(call.data, dict) else {}
        main = data.get("main_distinct_id")
        to_split = data.get("distinct_ids_to_split")
        if main is not None and to_split is not None:
            raise _invalid("Provide either main_distinct_id or distinct_ids_to_split, not both.")
        if to_split is not None and (
            not isinstance(to_split, list) or not all(isinstance(d, str) for d in to_split)
        ):
            raise _invalid("Expected a list of items.", "distinct_ids_to_split", code="not_a_list")
        if main is not None and main not in person.distinct_ids:
            raise _invalid("main_distinct_id does not belong to this person.", "main_distinct_id")
        if to_split is not None:
            leaving = [d for d in to_split if d in person.distinct_ids]
        else:
            keep = main if main is not None else person.distinct_ids[0]
            leaving = [d for d in person.distinct_ids if d != keep]
        self._schedule(self._split(person.uuid, leaving))
        return _json_response(201, {"success": True})

    def _split(self, person_uuid: str, leaving: list[str]) -> Callable[[], None]:
        def apply() -> None:
            pid = self._by_uuid.get(person_uuid)
            if pid is None:
                return
            person = self._persons[pid]
            for distinct_id in leaving:
                if distinct_id not in person.distinct_ids or len(person.distinct_ids) == 1:
                    continue
                person.distinct_ids.remove(distinct_id)
                del self._by_distinct_id[distinct_id]
                self._store(
                    StoredPerson(
                        id=self._next_id,
                        uuid=random_uuid(self._data_rng),
                        distinct_ids=[distinct_id],
                        properties={},
                        created_at=self._now_dt(),
                    )
                )

        return apply

    def _delete_person(self, person: StoredPerson, flags: Mapping[str, bool]) -> bool:
        if flags.get("delete_events"):
            self._queue_event_deletion(person)
        if flags.get("keep_person"):
            return False
        self._remove(person)
        return True

    def _op_destroy(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        # The server tests these flags for presence: `?delete_events=false` still deletes events.
        flags = {f: f in call.query for f in ("delete_events", "delete_recordings", "keep_person")}
        self._delete_person(person, flags)
        return _empty(202)

    def _op_delete_events(self, call: _Call) -> EmulatorResponse:
        self._queue_event_deletion(self._person_for(call))
        return _empty(202)

    def _op_delete_recordings(self, call: _Call) -> EmulatorResponse:
        self._person_for(call)
        return _empty(202)

    def _op_bulk_delete(self, call: _Call) -> EmulatorResponse:
        data = call.data if isinstance(call.data, dict) else {}
        ids, distinct_ids = data.get("ids"), data.get("distinct_ids")
        if ids and distinct_ids:
            raise _invalid("Provide either ids or distinct_ids, not both.")
        if not ids and not distinct_ids:
            raise _invalid("You must provide either ids or distinct_ids.")
        field = "ids" if ids else "distinct_ids"
        values = ids if ids else distinct_ids
        if not isinstance(values, list):
            raise _invalid("Expected a list of items.", field, code="not_a_list")
        if len(values) > BULK_DELETE_MAX:
            raise _invalid(
                f"You can only pass {BULK_DELETE_MAX} {field} in one call.",
                field,
                code="max_length",
            )
        found: dict[int, StoredPerson] = {}
        for value in values:
            if field == "ids":
                text = str(value)
                if not _is_uuid(text):
                    raise _invalid(f"'{text}' is not a valid UUID.", "ids")
                pid = self._by_uuid.get(str(uuid_module.UUID(text)))
            else:
                pid = self._by_distinct_id.get(str(value))
            if pid is not None:
                found[pid] = self._persons[pid]
        flags = {
            f: bool(data.get(f, False))
            for f in ("delete_events", "delete_recordings", "keep_person")
        }
        deleted = 0
        errors: list[dict[str, str]] = []
        for person in found.values():
            if person.uuid in self._undeletable:
                # The server's per-person deletion failed: nothing happened to this person.
                errors.append({"person_uuid": person.uuid})
                continue
            deleted += self._delete_person(person, flags)
        handled = len(found) - len(errors)
        return _json_response(
            202,
            {
                "persons_found": len(found),
                "persons_deleted": deleted,
                "events_queued_for_deletion": bool(flags["delete_events"] and handled),
                "recordings_queued_for_deletion": bool(flags["delete_recordings"] and handled),
                "deletion_errors": errors,
            },
        )

    def _op_deletion_status(self, call: _Call) -> EmulatorResponse:
        status = call.arg("status") or "all"
        if status not in ("pending", "completed", "all"):
            raise _invalid(f'"{status}" is not a valid choice.', "status", code="invalid_choice")
        person_uuid = call.arg("person_uuid")
        if person_uuid is not None and not _is_uuid(person_uuid):
            raise _invalid("Must be a valid UUID.", "person_uuid", code="invalid")
        limit, offset = _page_bounds(call, strict=True)
        rows = [self._deletion_api(r) for r in self._deletions_newest_first()]
        if person_uuid is not None:
            wanted = str(uuid_module.UUID(person_uuid))
            rows = [r for r in rows if r["person_uuid"] == wanted]
        if status != "all":
            rows = [r for r in rows if r["status"] == status]
        page = rows[offset : offset + limit]
        return _json_response(
            200,
            {
                "count": len(rows),
                "next": (
                    call.absolute(limit=limit, offset=offset + limit)
                    if offset + limit < len(rows)
                    else None
                ),
                "previous": _previous(call, limit, offset),
                "results": page,
            },
        )

    def _op_batch_by_distinct_ids(self, call: _Call) -> EmulatorResponse:
        data = call.data if isinstance(call.data, dict) else {}
        requested = data.get("distinct_ids")
        results: dict[str, Any] = {}
        if isinstance(requested, list):
            for distinct_id in requested[:BATCH_LOOKUP_MAX]:
                pid = self._by_distinct_id.get(str(distinct_id))
                if pid is not None:
                    results[str(distinct_id)] = self._persons[pid].to_api(
                        max_distinct_ids=BATCH_MAX_DISTINCT_IDS
                    )
        return _json_response(200, {"results": results})

    def _op_batch_by_uuids(self, call: _Call) -> EmulatorResponse:
        data = call.data if isinstance(call.data, dict) else {}
        requested = data.get("uuids")
        results: dict[str, Any] = {}
        if isinstance(requested, list):
            considered = [str(u) for u in requested[:BATCH_LOOKUP_MAX]]
            if not all(_is_uuid(u) for u in considered):
                raise _invalid("One or more UUIDs are invalid.", "uuids")
            for value in considered:
                pid = self._by_uuid.get(str(uuid_module.UUID(value)))
                if pid is not None:
                    person = self._persons[pid]
                    results[person.uuid] = person.to_api(max_distinct_ids=BATCH_MAX_DISTINCT_IDS)
        return _json_response(200, {"results": results})

    def _op_properties_at_time(self, call: _Call) -> EmulatorResponse:
        distinct_id, person_id = call.arg("distinct_id"), call.arg("person_id")
        if bool(distinct_id) == bool(person_id):
            raise _plain_error(400, "Provide exactly one of distinct_id or person_id.")
        raw = call.arg("timestamp")
        if not raw:
            raise _plain_error(400, "timestamp parameter is required.")
        moment = _parse_timestamp(raw)
        if moment is None:
            raise _plain_error(400, "Invalid timestamp format. Use ISO 8601.")
        include_set_once = (call.arg("include_set_once") or "").lower() in ("true", "1")
        person: StoredPerson | None
        if distinct_id:
            pid = self._by_distinct_id.get(distinct_id)
            person = self._persons.get(pid) if pid is not None else None
        else:
            person = self._lookup(person_id or "")
        if person is None:
            raise _plain_error(404, "Person not found.")
        queried = [distinct_id] if distinct_id else sorted(person.distinct_ids)
        record = person.to_api()
        # No history is kept: before the person existed nothing was set, after it the
        # current properties are the best approximation.
        if moment < person.created_at:
            record["properties"] = {}
        record["point_in_time_metadata"] = {
            "queried_timestamp": format_datetime(moment),
            "include_set_once": include_set_once,
            "distinct_id_used": distinct_id,
            "person_id_used": person_id,
            "query_mode": "distinct_id" if distinct_id else "person_id",
            "distinct_ids_queried": queried,
            "distinct_ids_count": len(queried),
        }
        return _json_response(200, record)

    def _op_values(self, call: _Call) -> EmulatorResponse:
        key = call.arg("key")
        needle = (call.arg("value") or "").lower()
        counts: dict[str, tuple[Any, int]] = {}
        if key:
            for person in self._persons.values():
                if key not in person.properties:
                    continue
                value = person.properties[key]
                label = _canonical(value)
                if needle and needle not in label.lower():
                    continue
                counts[label] = (value, counts.get(label, (value, 0))[1] + 1)
        ranked = sorted(counts.values(), key=lambda item: (-item[1], _canonical(item[0])))
        return _json_response(
            200,
            {"results": [{"name": v, "count": n} for v, n in ranked[:100]], "refreshing": False},
        )

    def _op_cohorts(self, call: _Call) -> EmulatorResponse:
        person_id = call.arg("person_id")
        if not person_id:
            raise _invalid("This field is required.", "person_id", code="required")
        if self._lookup(person_id) is None:
            raise _not_found()
        return _json_response(200, {"results": []})

    def _op_activity(self, call: _Call) -> EmulatorResponse:
        del call
        return _json_response(
            200, {"results": [], "next": None, "previous": None, "total_count": 0}
        )

    def _op_person_activity(self, call: _Call) -> EmulatorResponse:
        self._person_for(call)
        return self._op_activity(call)

    def _op_properties_timeline(self, call: _Call) -> EmulatorResponse:
        person = self._person_for(call)
        return _json_response(
            200,
            {
                "points": [],
                "crucial_property_keys": [],
                "effective_date_from": format_datetime(person.created_at),
                "effective_date_to": format_datetime(self._now_dt()),
            },
        )

    def _op_reset_person_distinct_id(self, call: _Call) -> EmulatorResponse:
        data = call.data if isinstance(call.data, dict) else {}
        if not data.get("distinct_id"):
            raise _invalid("This field is required.", "distinct_id", code="required")
        return _empty(202)

    def _actors(self, call: _Call) -> EmulatorResponse:
        del call
        return _json_response(200, {"results": [{"people": [], "count": 0}], "next": None})

    _op_funnel = _actors
    _op_funnel_correlation = _actors
    _op_trends = _actors
    _op_lifecycle = _actors
    _op_stickiness = _actors


# --------------------------------------------------------------------- module helpers


def _parse_pairs(query: str) -> list[tuple[str, str]]:
    parsed = parse_qs(query, keep_blank_values=True)
    # parse_qs groups by key; keep the original order of first appearance for stable URLs.
    return [(key, value) for key, values in parsed.items() for value in values]


def _previous(call: _Call, limit: int, offset: int) -> str | None:
    if offset <= 0:
        return None
    if offset - limit <= 0:
        return call.absolute(limit=limit, offset=None)
    return call.absolute(limit=limit, offset=offset - limit)


def _parsed_or_none(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _redact(headers: Mapping[str, str]) -> dict[str, str]:
    redacted: dict[str, str] = {}
    for key, value in headers.items():
        if key in _SENSITIVE_HEADERS:
            scheme, _, secret = value.partition(" ")
            redacted[key] = f"{scheme} ***" if secret else "***"
        else:
            redacted[key] = value
    return redacted


def _fault_response(fault: FaultKind) -> EmulatorResponse:
    if fault == "disconnect":
        return EmulatorResponse(0, {}, b"", disconnect=True)
    status = int(fault)
    reason = "Bad Gateway" if status == 502 else "Service Unavailable"
    body = f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
    return EmulatorResponse(status, {"Content-Type": "text/html"}, body)


def _csv_response(page: list[StoredPerson]) -> EmulatorResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "uuid", "name", "distinct_ids", "created_at", "properties"])
    for person in page:
        record = person.to_api()
        writer.writerow(
            [
                record["id"],
                record["uuid"],
                record["name"],
                json.dumps(record["distinct_ids"]),
                record["created_at"],
                json.dumps(record["properties"], sort_keys=True),
            ]
        )
    return EmulatorResponse(200, {"Content-Type": "text/csv"}, buffer.getvalue().encode())


_Predicate = Callable[[Mapping[str, Any]], bool]
_OPERATORS = (
    "exact",
    "is_not",
    "icontains",
    "not_icontains",
    "regex",
    "not_regex",
    "is_set",
    "is_not_set",
    "gt",
    "gte",
    "lt",
    "lte",
)


def _compile_filters(raw: str) -> _Predicate:
    """Parse the `properties` query parameter (a JSON-encoded list) into one predicate."""
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise _invalid(f"Properties are not valid JSON: {error}", "properties") from error
    # A property group ({"type": "AND", "values": [...]}) is accepted too, flattened to AND.
    if isinstance(parsed, dict) and isinstance(parsed.get("values"), list):
        parsed = parsed["values"]
    if not isinstance(parsed, list):
        raise _invalid("Properties must be a JSON list of filters.", "properties")
    predicates = [_compile_filter(item) for item in parsed]
    return lambda props: all(predicate(props) for predicate in predicates)


def _compile_filter(item: Any) -> _Predicate:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str):
        raise _invalid("Each property filter needs a string key.", "properties")
    key: str = item["key"]
    operator = item.get("operator") or "exact"
    if operator not in _OPERATORS:
        raise _invalid(f"Unknown property operator {operator!r}.", "properties")
    value = item.get("value")
    wanted = [_canonical(v) for v in (value if isinstance(value, list) else [value])]

    def present(props: Mapping[str, Any]) -> bool:
        return props.get(key) is not None

    def text(props: Mapping[str, Any]) -> str:
        return _canonical(props.get(key))

    def compare(props: Mapping[str, Any], op: Callable[[float, float], bool]) -> bool:
        left, right = _number(props.get(key)), _number(value)
        return left is not None and right is not None and op(left, right)

    if operator == "exact":
        return lambda p: present(p) and text(p) in wanted
    if operator == "is_not":
        # Absent properties count as "not equal", as with the server's null-safe comparison.
        return lambda p: not present(p) or text(p) not in wanted
    if operator == "icontains":
        return lambda p: present(p) and any(w.lower() in text(p).lower() for w in wanted)
    if operator == "not_icontains":
        return lambda p: not present(p) or not any(w.lower() in text(p).lower() for w in wanted)
    if operator in ("regex", "not_regex"):
        try:
            pattern = re.compile(wanted[0])
        except re.error as error:
            raise _invalid(f"Invalid regex: {error}", "properties") from error
        if operator == "regex":
            return lambda p: present(p) and bool(pattern.search(text(p)))
        return lambda p: not present(p) or not pattern.search(text(p))
    if operator == "is_set":
        return present
    if operator == "is_not_set":
        return lambda p: not present(p)
    ops: dict[str, Callable[[float, float], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    op = ops[operator]
    return lambda p: compare(p, op)


__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SCOPES",
    "DeletionRecord",
    "EmulatorContractError",
    "EmulatorResponse",
    "FakePostHog",
    "RecordedRequest",
]
