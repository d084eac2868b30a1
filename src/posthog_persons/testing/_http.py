"""What every layer of the emulator speaks: a request as handlers see it, and an answer.

No emulator module is imported here, so the state, the pipeline, the handlers and the
adapters can all depend on this one without a cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeAlias

import attrs

# posthog/utils.py format_query_params_absolute_url: `offset=` followed by digits is replaced
# in place; anything else (absent, empty, junk) gets a new `offset=` appended.
_OFFSET_IN_URL = re.compile(r"([&?]offset=)(\d+)")
_LIMIT_IN_URL = re.compile(r"([&?]limit=)(\d+)")


# Request headers as adapters have them: a mapping or (name, value) pairs.
Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]] | None


@attrs.frozen
class Trickle:
    """Send the body `chunk` bytes at a time, sleeping `delay` wall-clock seconds before each."""

    delay: float
    chunk: int = 1

    def pieces(self, body: bytes) -> Iterator[bytes]:
        for start in range(0, len(body), self.chunk):
            yield body[start : start + self.chunk]


@attrs.frozen
class EmulatorResponse:
    """What the emulator answers; `disconnect` means: drop the connection, send nothing."""

    status: int
    headers: dict[str, str]
    body: bytes
    disconnect: bool = False
    trickle: Trickle | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Exchange(Protocol):
    """What an adapter needs from the emulator: one answer per request, and the latency."""

    latency: float

    def handle(
        self, method: str, url: str, headers: Headers = None, body: bytes | None = None
    ) -> EmulatorResponse: ...


@attrs.frozen
class EmulatorRequest:
    """One request as the handlers (and `override` callables) see it.

    `headers` are the request's own, lower-cased and unredacted: a test may echo them.
    """

    method: str
    path: str
    base_url: str
    raw_query: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    data: Any
    operation: str
    person_ref: str | None = None

    def arg(self, name: str) -> str | None:
        """A query parameter as Django reads it: the last value when the key repeats.

        (django.utils.datastructures.MultiValueDict.__getitem__ returns the last value.)
        """
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def url(self) -> str:
        """The absolute URL as the server rebuilds it (request.build_absolute_uri())."""
        return f"{self.base_url}{self.path}" + (f"?{self.raw_query}" if self.raw_query else "")

    def page_url(self, offset: int, limit: int | None = None) -> str:
        """This URL with another offset (and limit), built the way the persons list does.

        Mirrors posthog/utils.py format_query_params_absolute_url, quirks included: an offset
        or limit of 0 leaves that parameter as it was in the request.
        """
        url = self.url
        replacements = ((_OFFSET_IN_URL, "offset", offset), (_LIMIT_IN_URL, "limit", limit))
        for pattern, name, value in replacements:
            if not value:
                continue
            if pattern.search(url):
                url = pattern.sub(rf"\g<1>{value}", url)
            else:
                url += ("&" if "?" in url else "?") + f"{name}={value}"
        return url


def body_fields(request: EmulatorRequest) -> dict[str, Any]:
    """`request.data` as a view reads fields off it: a body that is not an object has none."""
    return request.data if isinstance(request.data, dict) else {}


class ApiError(Exception):
    """Raised by handlers to answer an error; carries the full response."""

    def __init__(self, response: EmulatorResponse) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> EmulatorResponse:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return EmulatorResponse(status, headers, json_bytes(payload))


def json_bytes(payload: Any) -> bytes:
    """JSON as the emulator sends it (compact, like DRF's JSONRenderer)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def empty(status: int) -> EmulatorResponse:
    return EmulatorResponse(status, {}, b"")


def drf_error(
    status: int, error_type: str, code: str, detail: str, attr: str | None = None
) -> EmulatorResponse:
    """The body PostHog's DRF exception handler (drf-exceptions-hog) renders."""
    return json_response(status, {"type": error_type, "code": code, "detail": detail, "attr": attr})


def invalid(detail: str, attr: str | None = None, code: str = "invalid_input") -> ApiError:
    return ApiError(drf_error(400, "validation_error", code, detail, attr))


def not_found(detail: str = "Not found.") -> ApiError:
    return ApiError(drf_error(404, "invalid_request", "not_found", detail))


def plain_error(status: int, message: str) -> ApiError:
    """The `{"error": ...}` bodies some actions build themselves (properties_at_time)."""
    return ApiError(json_response(status, {"error": message}))
