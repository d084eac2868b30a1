"""FakePostHog: the emulator's public face, wiring state, pipeline, handlers and adapters.

The only module that imports the adapters (`_transport`, `_server`); they and the core
(`_state`, `_pipeline`, the handlers) never import it, so there is no import cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ._contract import ContractValidator, EmulatorContractError, find_schema
from ._http import EmulatorResponse, Headers
from ._pipeline import RecordedRequest, RequestPipeline
from ._rewrites import NO_JSON, JsonAnswer
from ._server import EmulatorServer
from ._state import EmulatorState, canonical_uuid
from ._throttle import (
    HOUR,
    MINUTE,
    SERVER_DELETE_PER_HOUR,
    SERVER_DELETE_PER_MINUTE,
    SERVER_READ_PER_HOUR,
    SERVER_READ_PER_MINUTE,
    Throttle,
)
from ._transport import EmulatorAsyncTransport, EmulatorTransport

DEFAULT_API_KEY = "phx_fake_emulator_key"
DEFAULT_SCOPES = ("person:read", "person:write", "activity_log:read", "cohort:read")


class FakePostHog:
    """An in-memory PostHog persons API behaving like the 2026 server: the stripe-mock of
    this client.

    Every adapter (httpx transports, the HTTP server) funnels into `handle`, so they behave
    identically. State, throttling and faults are deterministic for a given `seed` and
    request order; time comes from `clock` (plus `advance`), never from sleeping. The knobs
    are listed in the package docstring (`help(posthog_persons.testing)`).
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
        throttle: bool = False,
        rate_limit_per_minute: int | None = None,
        rate_limit_per_hour: int | None = None,
        delete_rate_limit_per_minute: int | None = None,
        delete_rate_limit_per_hour: int | None = None,
        undeletable: Iterable[str] = (),
        fault_rate: float = 0.0,
        deletion_delay: float = 0.0,
        property_update_delay: float = 0.0,
        queued_deletion: bool = False,
        queued_deletion_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        validate: bool = True,
        schema_path: str | Path | None = None,
        host: str = "http://testserver",
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {fault_rate!r}")
        for name, delay in (
            ("latency", latency),
            ("deletion_delay", deletion_delay),
            ("property_update_delay", property_update_delay),
            ("queued_deletion_delay", queued_deletion_delay),
        ):
            if delay < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {delay!r}")
        limits = {
            "rate_limit_per_minute": rate_limit_per_minute,
            "rate_limit_per_hour": rate_limit_per_hour,
            "delete_rate_limit_per_minute": delete_rate_limit_per_minute,
            "delete_rate_limit_per_hour": delete_rate_limit_per_hour,
        }
        for name, value in limits.items():
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive number of requests, not {value!r}")
        # `throttle=True`, or any one limit, turns throttling on; every limit not given then
        # takes the 2026 server's value for personal API keys (see _throttle.py).
        throttled = throttle or any(value is not None for value in limits.values())

        def limit(given: int | None, server: int | None) -> int | None:
            return given if given is not None else (server if throttled else None)

        self.rate_limit_per_minute = limit(rate_limit_per_minute, SERVER_READ_PER_MINUTE)
        self.rate_limit_per_hour = limit(rate_limit_per_hour, SERVER_READ_PER_HOUR)
        self.delete_rate_limit_per_minute = limit(
            delete_rate_limit_per_minute, SERVER_DELETE_PER_MINUTE
        )
        self.delete_rate_limit_per_hour = limit(delete_rate_limit_per_hour, SERVER_DELETE_PER_HOUR)
        self.seed = seed
        self.latency = latency
        self.host = host.rstrip("/")
        self._default_key = api_key
        self._state = EmulatorState(
            seed=seed,
            project_id=project_id,
            clock=clock or time.time,
            deletion_delay=deletion_delay,
            property_update_delay=property_update_delay,
            queued_deletion=queued_deletion,
            queued_deletion_delay=queued_deletion_delay,
        )
        validator: ContractValidator | None = None
        if validate:
            path = Path(schema_path) if schema_path is not None else find_schema()
            if path is None:
                raise FileNotFoundError(
                    "validate=True needs openapi/posthog-persons.json or the generated package"
                )
            validator = ContractValidator(path)
        windows = {
            "burst": [(MINUTE, self.rate_limit_per_minute), (HOUR, self.rate_limit_per_hour)],
            "delete": [
                (MINUTE, self.delete_rate_limit_per_minute),
                (HOUR, self.delete_rate_limit_per_hour),
            ],
        }
        self._pipeline = RequestPipeline(
            self._state,
            seed=seed,
            keys={api_key: frozenset(scopes)},
            throttle=Throttle(
                {
                    bucket: [(window, n) for window, n in pairs if n is not None]
                    for bucket, pairs in windows.items()
                }
            ),
            validator=validator,
            fault_rate=fault_rate,
        )
        self._lock = self._pipeline.lock
        self.make_undeletable(*undeletable)
        if isinstance(persons, int):
            self._state.generate(persons)
        else:
            for record in persons:
                self.add_person(**dict(record))

    def __repr__(self) -> str:
        # Deliberately omits the API key.
        return (
            f"FakePostHog(persons={len(self._state.persons)}, seed={self.seed}, "
            f"project_id={self.project_id}, validate={self._pipeline.validator is not None})"
        )

    # ----------------------------------------------------------------- knobs

    @property
    def project_id(self) -> int:
        return self._state.project_id

    @property
    def fault_rate(self) -> float:
        return self._pipeline.fault_rate

    @fault_rate.setter
    def fault_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {value!r}")
        self._pipeline.fault_rate = value

    @property
    def deletion_delay(self) -> float:
        return self._state.deletion_delay

    @deletion_delay.setter
    def deletion_delay(self, value: float) -> None:
        self._state.deletion_delay = value

    @property
    def property_update_delay(self) -> float:
        return self._state.property_update_delay

    @property_update_delay.setter
    def property_update_delay(self, value: float) -> None:
        self._state.property_update_delay = value

    @property
    def queued_deletion(self) -> bool:
        return self._state.queued_deletion

    @queued_deletion.setter
    def queued_deletion(self, value: bool) -> None:
        self._state.queued_deletion = value

    @property
    def queued_deletion_delay(self) -> float:
        return self._state.queued_deletion_delay

    @queued_deletion_delay.setter
    def queued_deletion_delay(self, value: float) -> None:
        self._state.queued_deletion_delay = value

    # ----------------------------------------------------------------- time

    def now(self) -> float:
        """The emulator's clock (seconds since the epoch): `clock()` plus every `advance`."""
        with self._lock:
            return self._state.now()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (deletions complete, throttles expire)."""
        with self._lock:
            self._state.advance(seconds)

    # ----------------------------------------------------------------- keys and failures

    @property
    def api_key(self) -> str:
        return self._default_key

    def add_api_key(self, key: str, scopes: Iterable[str]) -> None:
        """Accept another key with its own scopes (e.g. a read-only key to test 403s).

        As on the server, `X:write` also grants `X:read`, `*` grants every scope an action
        declares, and an empty scope list is a legacy key that may do anything.
        """
        with self._lock:
            self._pipeline.keys[key] = frozenset(scopes)

    def make_undeletable(self, *person_uuids: str) -> None:
        """Make the server fail to delete these persons' profiles (by UUID).

        Such a person is found but not deleted: it counts in `persons_found`, not in
        `persons_deleted` (nor `persons_queued_for_deletion`), comes back as
        `{"person_uuid": ...}` in `deletion_errors` and is kept; its event deletion is still
        queued when asked for, as the server queues it for every person found. The UUIDs need
        not belong to a person yet.
        """
        with self._lock:
            self._state.make_undeletable(person_uuids)

    def make_deletable(self, *person_uuids: str) -> None:
        """Undo `make_undeletable` for these UUIDs (unknown ones are ignored)."""
        with self._lock:
            self._state.make_deletable(person_uuids)

    @property
    def undeletable(self) -> frozenset[str]:
        """The UUIDs `bulk_delete` currently fails to delete."""
        with self._lock:
            return frozenset(self._state.undeletable)

    # ----------------------------------------------------------------- misbehaviour

    def override(
        self,
        operation_id: str,
        *,
        status: int | None = None,
        json: JsonAnswer = NO_JSON,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer the next `times` calls (all when None) of an operation with this instead.

        The handler does not run (no state changes). `json` is the body (any JSON value, or
        a callable given the `EmulatorRequest`, whose `headers` are unredacted); `body` is raw
        bytes instead; neither: an empty body. `status` defaults to the operation's normal
        success status. Calls refused before the handler (401, 403, 404, 429, a validation
        400) do not use it. Overridden answers are not checked against the schema. Rules for
        one operation apply in the order they were added.
        """
        with self._lock:
            self._pipeline.rewrites.add_override(
                operation_id, status=status, json=json, body=body, headers=headers, times=times
            )

    def transform(
        self, operation_id: str, fn: Callable[[Any], Any], *, times: int | None = None
    ) -> None:
        """Rewrite the JSON answers of the next `times` calls (all when None) of an operation.

        The handler runs as usual (state changes happen); `fn(body) -> body` receives the
        parsed JSON of its answer, whatever the status, and returns what is sent instead
        (drop or retype a field, e.g. `lambda b: {**b, "results": None}`). Non-JSON answers
        pass untouched but still use up a call. Transformed answers are not checked against
        the schema.
        """
        with self._lock:
            self._pipeline.rewrites.add_transform(operation_id, fn, times=times)

    def trickle(
        self,
        operation_id: str,
        *,
        delay: float = 1.0,
        chunk: int = 1,
        times: int | None = None,
    ) -> None:
        """Send the body of the next `times` answers (all when None) slowly: `chunk` bytes,
        then `delay` wall-clock seconds, and so on; headers (with Content-Length) go at once.

        A client's per-read timeout never fires on such an answer; only a deadline on the
        whole request stops it. Works on every adapter (the transports sleep in the body
        stream, the server between writes).
        """
        with self._lock:
            self._pipeline.rewrites.add_trickle(operation_id, delay=delay, chunk=chunk, times=times)

    def clear_overrides(self, operation_id: str | None = None) -> None:
        """Drop the overrides, transforms and trickles of one operation (all when None)."""
        with self._lock:
            self._pipeline.rewrites.clear(operation_id)

    # ----------------------------------------------------------------- persons

    def add_person(
        self,
        distinct_ids: Sequence[str] | None = None,
        properties: Mapping[str, Any] | None = None,
        *,
        id: int | str | None = None,
        uuid: str | None = None,
        created_at: datetime | str | None = None,
        last_seen_at: datetime | str | None = None,
        is_identified: bool | None = None,
        name: str | None = None,
        type: str | None = None,
        matched_recordings: Any = None,
        value_at_data_point: Any = None,
    ) -> dict[str, Any]:
        """Create a person now (no asynchrony) and return its retrieve record.

        `name` and the list-only fields (`type`, `matched_recordings`, `value_at_data_point`)
        are accepted and ignored, so that API records (retrieve or list) can be fed back in:
        the server derives them. `is_identified` defaults to whether any distinct id is not
        UUID-shaped.
        """
        del name, type, matched_recordings, value_at_data_point
        if isinstance(id, str):
            # A list result carries the UUID in `id`.
            if id.isdigit():
                id = int(id)
            elif canonical_uuid(id) is not None and canonical_uuid(uuid or id) == canonical_uuid(
                id
            ):
                id, uuid = None, uuid or id
            else:
                raise ValueError(f"person id must be a number (or a list result's UUID): {id!r}")
        with self._lock:
            person = self._state.add_person(
                distinct_ids,
                properties,
                id=id,
                uuid=uuid,
                created_at=created_at,
                last_seen_at=last_seen_at,
                is_identified=is_identified,
            )
            return person.to_api()

    @property
    def persons(self) -> list[dict[str, Any]]:
        """Current persons as retrieve records (numeric `id`), in the list's order, pending
        changes that are due applied. (The list endpoint itself answers actors.)"""
        with self._lock:
            self._state.apply_due()
            return [p.to_api() for p in self._state.in_list_order()]

    def get_person(self, ref: int | str) -> dict[str, Any] | None:
        """A person by numeric id, UUID or distinct id; None when absent."""
        with self._lock:
            self._state.apply_due()
            person = self._state.by_reference(str(ref))
            if person is None and isinstance(ref, str):
                person = self._state.by_distinct(ref)
            return person.to_api() if person else None

    @property
    def queued_for_deletion(self) -> frozenset[str]:
        """UUIDs whose profile deletion `queued_deletion` mode accepted and not yet ran."""
        with self._lock:
            self._state.apply_due()
            return self._state.queued_profiles

    @property
    def pending_changes(self) -> int:
        """Accepted edits, splits and queued deletions the server has not applied yet."""
        with self._lock:
            self._state.apply_due()
            return self._state.pending_count

    def deletion_statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._state.deletion_api(r) for r in self._state.deletions_newest_first()]

    # ----------------------------------------------------------------- the request log

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._pipeline.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._pipeline.requests.clear()

    @property
    def contract_errors(self) -> list[EmulatorContractError]:
        """Contract breaches seen (also raised; over HTTP only this list reaches a test)."""
        return self._pipeline.contract_errors

    # ----------------------------------------------------------------- adapters

    def handle(
        self,
        method: str,
        url: str,
        headers: Headers = None,
        body: bytes | None = None,
    ) -> EmulatorResponse:
        """Answer one request. `url` is absolute or a path with query string."""
        return self._pipeline.handle(method, url, headers, body, default_base=self.host)

    def transport(self) -> EmulatorTransport:
        return EmulatorTransport(self)

    def async_transport(self) -> EmulatorAsyncTransport:
        return EmulatorAsyncTransport(self)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client wired to this emulator and authorised with its key."""
        headers = {"Authorization": f"Bearer {self._default_key}", **kwargs.pop("headers", {})}
        return httpx.Client(
            transport=self.transport(), base_url=self.host, headers=headers, **kwargs
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self._default_key}", **kwargs.pop("headers", {})}
        return httpx.AsyncClient(
            transport=self.async_transport(), base_url=self.host, headers=headers, **kwargs
        )

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> EmulatorServer[FakePostHog]:
        """Serve over real HTTP on loopback; use as a context manager, `.url` is the base."""
        return EmulatorServer(self, host=host, port=port)
