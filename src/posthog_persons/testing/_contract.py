"""Checks every emulated exchange against the committed OpenAPI contract (openapi-core)."""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

# src/posthog_persons/testing/_contract.py -> repository root.
_REPO_SCHEMA = Path(__file__).resolve().parents[3] / "openapi" / "posthog-persons.json"


class EmulatorContractError(AssertionError):
    """The emulator produced a response its own contract forbids.

    An AssertionError so that a test exercising the emulator fails loudly instead of a client
    silently adapting to a response the real server (as described by the schema) never sends.
    """


@dataclass(frozen=True)
class ContractRequest:
    """One request as the contract sees it (query values are lists: keys may repeat)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    content_type: str


def find_schema() -> Path | None:
    """The contract: the copy shipped in the generated package first, else the repo file."""
    try:
        resource = importlib.resources.files("posthog_persons_api").joinpath("openapi.json")
        if resource.is_file():
            return Path(str(resource))
    except (ModuleNotFoundError, TypeError):
        pass
    return _REPO_SCHEMA if _REPO_SCHEMA.is_file() else None


_PARAMETER = re.compile(r"\{[^}]+\}")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[OpenAPI, frozenset[tuple[str, str]], str]:
    # Building the spec (reference resolution, validator classes) costs far more than one
    # validation, so it is built once per process and file.
    with open(path, encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    operations = frozenset(
        (method.upper(), _PARAMETER.sub("{}", template))
        for template, item in spec.get("paths", {}).items()
        for method in item
        if method in _METHODS
    )
    # Requests are matched against the schema's own server (the 2026 schema names the US and
    # EU clouds); the emulator's host is not one of them and does not matter to the contract.
    servers = spec.get("servers") or [{"url": "http://testserver"}]
    return OpenAPI.from_dict(spec), operations, str(servers[0]["url"]).rstrip("/")


def _describe(error: BaseException) -> str:
    """Flatten openapi-core's nested errors into one readable sentence."""
    parts = [_text(error)]
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 5:
        seen += 1
        details = getattr(cause, "schema_errors", None) or getattr(cause, "errors", None)
        if details:
            for detail in list(details)[:3]:
                message = getattr(detail, "message", None) or _text(detail)
                path = getattr(detail, "path", None)
                where = "/".join(str(p) for p in path) if path else ""
                parts.append(f"{where}: {message}" if where else str(message))
            break
        cause = cause.__cause__
    return "; ".join(dict.fromkeys(p for p in parts if p))


def _text(error: object) -> str:
    """str() of an openapi-core error; some of theirs raise on bodies that are not UTF-8."""
    try:
        return str(error)
    except (UnicodeError, ValueError, TypeError):
        return type(error).__name__


_REQUIRED = re.compile(r"'([^']+)' is a required property")


def _field_of(error: BaseException) -> str | None:
    """The parameter or body field a request error is about, for DRF's `attr`."""
    name = getattr(error, "name", None)
    if isinstance(name, str):
        return name
    cause: BaseException | None = error
    while cause is not None:
        for detail in getattr(cause, "schema_errors", None) or ():
            path = list(getattr(detail, "path", ()) or ())
            if path:
                return str(path[0])
            found = _REQUIRED.search(str(getattr(detail, "message", "")))
            if found:
                return found.group(1)
        cause = cause.__cause__
    return None


@contextmanager
def _quiet_allow_empty_value() -> Iterator[None]:
    # The schema sets allowEmptyValue where the server accepts an empty query value
    # (deletion_status limit/offset: DRF falls back to the default); openapi-core honours it
    # but warns, on every validation, that OpenAPI deprecates the keyword.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Use of allowEmptyValue property is deprecated", DeprecationWarning
        )
        yield


class ContractValidator:
    """Validates requests and responses of one schema; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._openapi, self._operations, self._server = _load(str(path))
        # openapi-core keeps per-call caches that are not documented as thread-safe.
        self._lock = threading.Lock()

    def covers(self, method: str, template: str) -> bool:
        """Whether the schema describes this operation (`template` as the schema writes it;
        parameter names do not matter)."""
        return (method.upper(), _PARAMETER.sub("{}", template)) in self._operations

    def _request(self, exchange: ContractRequest) -> MockRequest:
        query, path = exchange.query, exchange.path
        args = [(key, value) for key, values in query.items() for value in values]
        # The server's router makes the trailing slash optional; the schema only has it.
        if not path.endswith("/"):
            path += "/"
        request = MockRequest(
            self._server,
            exchange.method.lower(),
            path,
            headers=dict(exchange.headers),
            data=exchange.body,
            content_type=exchange.content_type,
        )
        # MockRequest flattens its args to one value a key; rebuild it as a true multi-dict.
        request.parameters.query = ImmutableMultiDict(args)
        return request

    def request_problem(self, exchange: ContractRequest) -> tuple[str, str | None] | None:
        """Why the request breaks the contract (and which field), or None when it conforms."""
        request = self._request(exchange)
        with self._lock, _quiet_allow_empty_value():
            for error in self._openapi.iter_request_errors(request):
                return _describe(error), _field_of(error)
        return None

    def check_response(
        self,
        exchange: ContractRequest,
        status: int,
        response_headers: Mapping[str, str],
        response_body: bytes,
    ) -> None:
        request = self._request(exchange)
        response = MockResponse(
            response_body,
            status_code=status,
            headers=dict(response_headers),
            content_type=response_headers.get("Content-Type", "application/json"),
        )
        with self._lock, _quiet_allow_empty_value():
            errors = list(self._openapi.iter_response_errors(request, response))
        if errors:
            raise EmulatorContractError(
                f"{exchange.method.upper()} {exchange.path} -> {status} breaks {self.path.name}: "
                f"{_describe(errors[0])}; body={response_body[:300]!r}"
            )
