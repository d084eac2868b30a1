"""The request pipeline: route, authenticate, authorise, throttle, validate, handle, record.

The order is DRF's (APIView.initial: authentication, permissions, throttles, then the
handler) as PostHog's persons viewset configures it; every adapter funnels into `handle`.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import attrs

from . import _reads as reads
from . import _writes as writes
from ._contract import ContractRequest, ContractValidator, EmulatorContractError
from ._http import (
    ApiError,
    EmulatorRequest,
    EmulatorResponse,
    Headers,
    drf_error,
    json_response,
)
from ._rewrites import Rewrites
from ._routes import OPERATIONS, Operation, Resolved, projects_path, resolve, scopes_without_action
from ._state import EmulatorState
from ._throttle import Throttle

FaultKind = Literal["502", "503", "disconnect"]
_FAULT_KINDS: tuple[FaultKind, ...] = ("502", "503", "disconnect")
_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})
_NO_PAK_ACCESS = "This action does not support Personal API Key access"

Handler = Callable[[EmulatorState, EmulatorRequest], EmulatorResponse]
# One handler per viewset action.
HANDLERS: dict[str, Handler] = {
    "list": reads.list_persons,
    "create": writes.create,
    "retrieve": reads.retrieve,
    "update": writes.update,
    "partial_update": writes.update,
    "destroy": writes.destroy,
    "all_activity": reads.activity,
    "activity": reads.activity,
    "batch_by_distinct_ids": reads.batch_by_distinct_ids,
    "batch_by_uuids": reads.batch_by_uuids,
    "bulk_delete": writes.bulk_delete,
    "cohorts": reads.cohorts,
    "deletion_status": writes.deletion_status,
    "funnel": reads.legacy_actors,
    "trends": reads.legacy_actors,
    "lifecycle": reads.legacy_actors,
    "properties_at_time": reads.properties_at_time,
    "properties_timeline": reads.properties_timeline,
    "reset_person_distinct_id": writes.reset_person_distinct_id,
    "values": reads.values,
    "delete_events": writes.delete_events,
    "delete_property": writes.delete_property,
    "delete_recordings": writes.delete_recordings,
    "emails": reads.message_assets,
    "push_notifications": reads.message_assets,
    "split": writes.split,
    "update_property": writes.update_property,
}


@attrs.frozen
class RecordedRequest:
    """One request as the emulator saw it. The API key itself is never kept.

    `operation` is the upstream operation id (e.g. `persons_bulk_delete_create`), a legacy
    action's name (`funnel`, `trends`, `lifecycle`), or None when no operation was reached
    (unknown path, injected fault). `rewritten` marks answers an `override` or `transform`
    replaced.
    """

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
    rewritten: bool = False


@attrs.define
class _Outcome:
    response: EmulatorResponse
    operation: Operation | None = None
    rewritten: bool = False


class RequestPipeline:
    """Answers requests from one EmulatorState; thread-safe (one lock for everything)."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        seed: int,
        keys: Mapping[str, frozenset[str]],
        throttle: Throttle,
        validator: ContractValidator | None,
        fault_rate: float,
    ) -> None:
        self.state = state
        self.lock = threading.RLock()
        self.keys = dict(keys)
        self.throttle = throttle
        self.validator = validator
        self.rewrites = Rewrites(OPERATIONS)
        self.fault_rate = fault_rate
        # Its own stream, so that adding a person does not change which request faults.
        self._fault_rng = random.Random(f"faults-{seed}")
        self.requests: list[RecordedRequest] = []
        self.contract_errors: list[EmulatorContractError] = []

    def handle(
        self,
        method: str,
        url: str,
        headers: Headers = None,
        body: bytes | None = None,
        *,
        default_base: str,
    ) -> EmulatorResponse:
        method = method.upper()
        items = headers.items() if isinstance(headers, Mapping) else (headers or [])
        header_map = {key.lower(): value for key, value in items}
        split = urlsplit(url)
        base_url = f"{split.scheme}://{split.netloc}" if split.netloc else default_base
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        raw_body = body or b""
        with self.lock:
            self.state.apply_due()
            key = self._authenticate(header_map)
            fault = self._draw_fault()
            if fault is not None:
                outcome = _Outcome(_fault_response(fault))
            else:
                request = EmulatorRequest(
                    method=method,
                    path=split.path,
                    base_url=base_url,
                    raw_query=split.query,
                    query=query,
                    headers=header_map,
                    data=None,
                    operation="",
                )
                outcome = self._dispatch(request, raw_body, key)
                self._check_response(request, raw_body, outcome)
            self.requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query=query,
                    body=_parsed_or_none(raw_body),
                    headers=_redact(header_map),
                    authorized=key is not None,
                    status=outcome.response.status,
                    operation=outcome.operation.operation_id if outcome.operation else None,
                    fault=fault,
                    at=self.state.now(),
                    rewritten=outcome.rewritten,
                )
            )
        return outcome.response

    def _draw_fault(self) -> FaultKind | None:
        if self.fault_rate <= 0.0 or self._fault_rng.random() >= self.fault_rate:
            return None
        return self._fault_rng.choice(_FAULT_KINDS)

    def _authenticate(self, headers: Mapping[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token in self.keys else None

    def _denial(self, key: str, required: tuple[str, ...] | None) -> str | None:
        """posthog/permissions.py APIScopePermission.has_permission, for a personal API key."""
        scopes = self.keys[key]
        if not scopes:
            # "Legacy Personal API keys have no scopes and are allowed to do anything".
            return None
        if required is None:
            return _NO_PAK_ACCESS
        if "*" in scopes:
            return None
        for scope in required:
            # A `:write` scope also satisfies the `:read` one.
            valid = {scope, scope.replace(":read", ":write")}
            if not valid & scopes:
                return f"API key missing required scope '{scope}'"
        return None

    def _dispatch(self, request: EmulatorRequest, body: bytes, key: str | None) -> _Outcome:
        resolved = resolve(request.path)
        if resolved is None:
            # Django's URL resolver: nothing matched, before any authentication.
            return _Outcome(drf_error(404, "invalid_request", "not_found", "Not found."))
        operation = resolved.operation(request.method)
        refusal = self._refusal(request, key, resolved, operation)
        if refusal is not None:
            return _Outcome(refusal, operation)
        if operation is None and request.method == "OPTIONS":
            return _Outcome(_options(resolved))
        if operation is None:
            return _Outcome(_method_not_allowed(request.method, resolved))
        return self._call(request, body, operation, resolved)

    def _refusal(
        self,
        request: EmulatorRequest,
        key: str | None,
        resolved: Resolved,
        operation: Operation | None,
    ) -> EmulatorResponse | None:
        """Authentication (401), the project (404), scopes (403), throttles (429)."""
        if key is None:
            detail = (
                "Authentication credentials were not provided."
                if "authorization" not in request.headers
                else "Invalid personal API key."
            )
            return drf_error(401, "authentication_error", "authentication_failed", detail)
        if resolved.project not in (str(self.state.project_id), "@current"):
            return drf_error(404, "invalid_request", "not_found", "Project not found.")
        required = (
            operation.scopes
            if operation is not None
            else scopes_without_action(request.method, resolved.route.detail)
        )
        denial = self._denial(key, required)
        if denial is not None:
            return drf_error(403, "authentication_error", "permission_denied", denial)
        bucket = operation.throttle_bucket if operation is not None else "burst"
        return self.throttle.check(key, bucket, self.state.now())

    def _call(
        self,
        request: EmulatorRequest,
        body: bytes,
        operation: Operation,
        resolved: Resolved,
    ) -> _Outcome:
        """Decode and validate the request, then the handler (or a rule replacing it)."""
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError) as error:
            # DRF's JSONParser decodes and parses before the view sees the data.
            detail = f"JSON parse error - {error}"
            return _Outcome(drf_error(400, "validation_error", "parse_error", detail), operation)
        refused = self._schema_refusal(request, body, operation)
        if refused is not None:
            return _Outcome(refused, operation)
        call = attrs.evolve(
            request,
            data=data,
            operation=operation.operation_id,
            person_ref=resolved.person_ref,
        )
        rules = self.rewrites
        override = rules.override(operation.operation_id)
        transform = None
        if override is not None:
            response = override.answer(call, operation.success_status)
        else:
            try:
                response = HANDLERS[operation.action](self.state, call)
            except ApiError as error:
                response = error.response
            transform = rules.transform(operation.operation_id)
            if transform is not None:
                response = transform.apply(response)
        if response.status == 405:
            response.headers.setdefault("Allow", resolved.allowed_methods)
        trickle = rules.trickle(operation.operation_id)
        if trickle is not None:
            response = attrs.evolve(response, trickle=trickle)
        rewritten = override is not None or transform is not None
        return _Outcome(response, operation, rewritten=rewritten)

    def _schema_refusal(
        self, request: EmulatorRequest, body: bytes, operation: Operation
    ) -> EmulatorResponse | None:
        """The 400 for a request the schema refuses, if any."""
        problem = self._request_problem(request, body, operation)
        if problem is None:
            return None
        message, attr = problem
        if operation.plain_errors:
            return json_response(400, {"error": message})
        detail = f"Invalid request: {message}"
        return drf_error(400, "validation_error", "invalid_input", detail, attr)

    def _contract_request(
        self, request: EmulatorRequest, body: bytes, operation: Operation
    ) -> ContractRequest | None:
        """The request as the schema's projects-scope operation sees it (None: not described).

        The deprecated environments paths are the same operations.
        """
        validator = self.validator
        if validator is None or not validator.covers(
            request.method, projects_path(operation.template)
        ):
            return None
        path = request.path.replace("/api/environments/", "/api/projects/", 1)
        content_type = request.headers.get("content-type", "application/json")
        return ContractRequest(
            request.method, path, request.query, request.headers, body, content_type
        )

    def _request_problem(
        self, request: EmulatorRequest, body: bytes, operation: Operation
    ) -> tuple[str, str | None] | None:
        exchange = self._contract_request(request, body, operation)
        if exchange is None or self.validator is None:
            return None
        return self.validator.request_problem(exchange)

    def _check_response(self, request: EmulatorRequest, body: bytes, outcome: _Outcome) -> None:
        # Every answer of an operation the schema describes, refusals (401, 403, 429...)
        # included; not the ones a test rewrote on purpose.
        if outcome.rewritten or outcome.operation is None:
            return
        exchange = self._contract_request(request, body, outcome.operation)
        if exchange is None or self.validator is None:
            return
        response = outcome.response
        # CSV exports cannot be checked against a JSON schema.
        if response.body and not response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            return
        try:
            self.validator.check_response(
                exchange, response.status, response.headers, response.body
            )
        except EmulatorContractError as error:
            # Kept as well as raised: over real HTTP the raise only reaches the server
            # thread, so a test asserts on this list instead.
            self.contract_errors.append(error)
            raise


def _method_not_allowed(method: str, resolved: Resolved) -> EmulatorResponse:
    response = drf_error(
        405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.'
    )
    response.headers["Allow"] = resolved.allowed_methods
    return response


def _options(resolved: Resolved) -> EmulatorResponse:
    """DRF's APIView.options: SimpleMetadata (without "actions"), and the `Allow` header."""
    metadata = {
        "name": resolved.view_name,
        "description": "",
        "renders": ["application/json", "text/csv"],
        "parses": ["application/json"],
    }
    return json_response(200, metadata, {"Allow": resolved.allowed_methods})


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
