"""The exceptions of posthog_persons, and the one function that maps a response to one.

    PostHogError
    ├── APIError (status_code, detail, body)
    │   ├── BadRequestError        400
    │   ├── AuthenticationError    401
    │   ├── PermissionDeniedError  403 (missing_scope)
    │   ├── NotFoundError          404
    │   ├── RateLimitError         429 (retry_after)
    │   └── ServerError            5xx
    ├── APIConnectionError         network failure
    │   └── APITimeoutError        timeout
    ├── ConfigurationError         bad client settings, raised at construction
    ├── InvalidInputError          bad arguments, raised before any request (also a ValueError)
    └── BulkDeleteError            a bulk delete stopped part-way (cause, counts, remaining)
        └── BulkDeleteInputError   ...on a bad id read from an iterator (also InvalidInputError)

No exception ever holds the API key: errors are built from the response status, headers and
body only, never from the request; the httpx error chained as the `__cause__` of an
APIConnectionError has the Authorization header removed from the request it carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import BulkDeleteResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BulkDeleteError",
    "BulkDeleteInputError",
    "ConfigurationError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "PostHogError",
    "RateLimitError",
    "ServerError",
    "error_from_response",
]

_MAX_DETAIL = 500
_SCOPE = re.compile(r"\b([a-z_]+:(?:read|write))\b")


class PostHogError(Exception):
    """Base class of every error raised by posthog_persons."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIError(PostHogError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        detail: str | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        self.body = body
        self.code = code


class BadRequestError(APIError):
    """400: the server rejected the request (the detail says why)."""


class AuthenticationError(APIError):
    """401: missing or invalid personal API key."""


class PermissionDeniedError(APIError):
    """403: the key lacks a scope; `missing_scope` names it when the server does."""

    def __init__(self, message: str, *, missing_scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.missing_scope = missing_scope


class NotFoundError(APIError):
    """404: no such person (or project)."""


class RateLimitError(APIError):
    """429 after every retry; `retry_after` is the server's advice in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx after every retry (or a 500, which is not retried)."""


class APIConnectionError(PostHogError):
    """The server could not be reached (after every retry)."""


class APITimeoutError(APIConnectionError):
    """The request timed out (after every retry)."""


class ConfigurationError(PostHogError):
    """The client's settings are missing or malformed."""


class InvalidInputError(PostHogError, ValueError):
    """An argument is invalid; raised before any request is sent."""


class BulkDeleteError(PostHogError):
    """A bulk delete stopped part-way; nothing is lost.

    - `cause`: the error that stopped it (an APIError, APIConnectionError, a PostHogError for
      an unreadable response or, for a bad id found while streaming an iterator,
      InvalidInputError); also chained as `__cause__`.
    - `result`: what was done before, as a BulkDeleteResult (persons_deleted, requested, ...).
    - `remaining`: list of the ids not confirmed: the failed batch, plus, when the input was a
      collection, every id after it.
    - `unconsumed`: when the input was an iterator, the rest of it, not yet read (an empty
      iterator otherwise).
    - `resume_ids()`: `remaining` then `unconsumed`: pass it to bulk_delete to carry on.
    """

    def __init__(
        self,
        cause: PostHogError,
        *,
        result: BulkDeleteResult,
        remaining: list[str],
        unconsumed: Iterator[Any] | None = None,
    ) -> None:
        self.cause = cause
        self.result = result
        self.remaining = remaining
        self.unconsumed: Iterator[Any] = unconsumed if unconsumed is not None else iter(())
        rest = " (and the rest of the input iterator in exc.unconsumed)" if unconsumed else ""
        super().__init__(
            f"bulk delete stopped after {result.batches} batch(es): {result.persons_deleted} "
            f"person(s) deleted, {result.requested} id(s) confirmed; {len(remaining)} id(s) not "
            f"confirmed are in exc.remaining{rest}. Cause: {cause}"
        )

    @property
    def persons_deleted(self) -> int:
        return self.result.persons_deleted

    def resume_ids(self) -> Iterator[Any]:
        """The ids to pass to bulk_delete again to finish the job."""
        return chain(self.remaining, self.unconsumed)


class BulkDeleteInputError(BulkDeleteError, InvalidInputError):
    """A bad id was read from an iterator passed to bulk_delete; no request was sent for it.

    The ids read before it (not yet sent) are in `remaining`, the rest in `unconsumed`.
    """


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")[:_MAX_DETAIL]


def _detail(body: Any) -> str | None:
    if isinstance(body, Mapping):
        for key in ("detail", "error", "message"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)[:_MAX_DETAIL]
        return json.dumps(body)[:_MAX_DETAIL]
    if isinstance(body, str) and body.strip():
        return body.strip()
    return None


def error_from_response(status_code: int, headers: Mapping[str, str], content: bytes) -> APIError:
    """THE mapping from an error response to an exception."""
    from .retry import parse_retry_after  # lazy: keeps this module httpx-free

    body = _decode(content)
    detail = _detail(body)
    try:
        reason = HTTPStatus(status_code).phrase
    except ValueError:
        reason = "Error"
    message = f"{status_code} {reason}" + (f": {detail}" if detail else "")
    code = body.get("code") if isinstance(body, Mapping) else None
    common: dict[str, Any] = {
        "status_code": status_code,
        "detail": detail,
        "body": body,
        "code": code if isinstance(code, str) else None,
    }
    if status_code == 400:
        return BadRequestError(message, **common)
    if status_code == 401:
        return AuthenticationError(message, **common)
    if status_code == 403:
        scope = _SCOPE.search(detail or "")
        missing = scope.group(1) if scope else None
        hint = f" (the API key lacks the '{missing}' scope)" if missing else ""
        return PermissionDeniedError(message + hint, missing_scope=missing, **common)
    if status_code == 404:
        return NotFoundError(message, **common)
    if status_code == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        hint = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return RateLimitError(message + hint, retry_after=retry_after, **common)
    if status_code >= 500:
        return ServerError(message, **common)
    return APIError(message, **common)
