"""The exceptions of posthog_persons, and the one function that maps a response to one.

    PostHogError
    ├── APIError (status_code, method, path, detail, body, code)
    │   ├── BadRequestError        400
    │   ├── AuthenticationError    401
    │   ├── PermissionDeniedError  403 (missing_scope)
    │   ├── NotFoundError          404 (resource: "project" or "person")
    │   ├── RateLimitError         429 (retry_after)
    │   └── ServerError            5xx
    │       └── MalformedResponseError  a 2xx answer without the documented shape
    ├── APIConnectionError         network failure
    │   └── APITimeoutError        timeout
    ├── ConfigurationError         bad client settings, raised at construction (setting, env_var)
    ├── InvalidInputError          bad arguments, raised before any request (also a ValueError)
    └── BulkDeleteError            a bulk delete stopped part-way (cause, result, remaining)
        ├── BulkDeleteInputError   ...on a bad id read from an iterator (also InvalidInputError)
        └── BulkDelete<Cause>      ...by an error of class <Cause>: also an instance of it, so
                                   `except PermissionDeniedError` catches a bulk delete refused
                                   for a missing scope (e.g. BulkDeletePermissionDeniedError)

Every error pickles and copies (`pickle.loads(pickle.dumps(e)) == e`), for process pools and
task queues; equality is by class, message and attributes. One exception: a BulkDeleteError's
`unconsumed` iterator belongs to the process reading it: a pickled (or deep-copied) error has
an empty one, and `unconsumed_dropped` says so.

No exception ever holds the API key: errors are built from the response status, headers and
body only (never the request), with the key redacted from the body should the server echo it;
`path` is the request's path, never its query string; the httpx error chained as the
`__cause__` of an APIConnectionError has the Authorization header removed from its request.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PostHogError",
    "RateLimitError",
    "ServerError",
    "error_from_response",
]

_MAX_DETAIL = 500
_SCOPE = re.compile(r"\b([a-z_]+:(?:read|write))\b")
REDACTED = "[REDACTED]"
E = TypeVar("E", bound="PostHogError")


def _rebuild(cls: type[E], args: tuple[Any, ...]) -> E:
    """Unpickling: the instance without running __init__ (its state follows)."""
    return cls.__new__(cls, *args)


class PostHogError(Exception):
    """Base class of every error raised by posthog_persons."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException's default calls cls(*args), which keyword-only fields break.
        return (_rebuild, (type(self), self.args), self._state_to_pickle())

    def _state_to_pickle(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __copy__(self) -> PostHogError:
        clone = _rebuild(type(self), self.args)
        clone.__dict__.update(self.__dict__)
        return clone

    def _compared(self) -> dict[str, Any]:
        return self.__dict__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, PostHogError)
        return self.args == other.args and self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash((type(self), self.args))


class APIError(PostHogError):
    """The server answered with an error status.

    `method` and `path` say which request (the path only: never the query string, which can
    hold emails, and never the key); `detail` is the server's message, `body` its JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str | None = None,
        path: str | None = None,
        detail: str | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.path = path
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


NotFoundResource = Literal["project", "person"]


class NotFoundError(APIError):
    """404; `resource` says what was not found: "project" (the project id is wrong, or the key
    cannot see it) or "person" (the person of the path does not exist)."""

    def __init__(self, message: str, *, resource: NotFoundResource, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resource = resource


class RateLimitError(APIError):
    """429 after every retry; `retry_after` is the server's advice in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed: 5xx after every retry (a 500 is not retried), or see below."""


class MalformedResponseError(ServerError):
    """A success status whose body lacks the documented shape (e.g. `"results": null`).

    A server failure, never read as "nothing found": an erasure must not conclude that there
    is nothing to delete from an answer it cannot read.
    """


class APIConnectionError(PostHogError):
    """The server could not be reached (after every retry)."""


class APITimeoutError(APIConnectionError):
    """The request timed out (after every retry)."""


class ConfigurationError(PostHogError):
    """The client's settings are missing or malformed.

    `setting` is the constructor argument at fault ("api_key", "project_id", "host", ...);
    `env_var` the environment variable its bad value came from, or None for an argument.
    """

    def __init__(self, message: str, *, setting: str, env_var: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.env_var = env_var


class InvalidInputError(PostHogError, ValueError):
    """An argument is invalid; raised before any request is sent.

    `reason` is a short, stable category ("not a UUID", "too long", "control characters",
    ...) for callers that count rejections; the message names the bad value.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class BulkDeleteError(PostHogError):
    """A bulk delete stopped part-way; nothing is lost.

    - `cause`: the error that stopped it (an APIError, APIConnectionError, MalformedResponseError
      or, for a bad id found while streaming an iterator, InvalidInputError); also chained as
      `__cause__`. The error is also an instance of the cause's class (see the module doc).
    - `result`: what was done before, as a BulkDeleteResult (persons_deleted, requested, ...).
    - `remaining`: list of the ids not confirmed: the failed batch, plus, when the input was a
      collection, every id after it.
    - `unconsumed`: when the input was an iterator, the rest of it, not yet read (an empty
      iterator otherwise, and after pickling: see `unconsumed_dropped`).
    - `resume_ids()`: `remaining` then `unconsumed`: pass it to bulk_delete to carry on.
    """

    cause: PostHogError
    result: BulkDeleteResult
    remaining: list[str]
    unconsumed: Iterator[Any]
    unconsumed_dropped: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> BulkDeleteError:
        cause = kwargs.get("cause", args[0] if args else None)
        if cls is BulkDeleteError and isinstance(cause, PostHogError):
            cls = _variant(type(cause))
        return super().__new__(cls, *args)

    def __init__(
        self,
        cause: PostHogError,
        *,
        result: BulkDeleteResult,
        remaining: list[str],
        unconsumed: Iterator[Any] | None = None,
    ) -> None:
        rest = " (and the rest of the input iterator in exc.unconsumed)" if unconsumed else ""
        PostHogError.__init__(
            self,
            f"bulk delete stopped after {result.batches} batch(es): {result.persons_deleted} "
            f"person(s) deleted, {result.persons_queued} queued for deletion, {result.requested} "
            f"id(s) confirmed; {len(remaining)} id(s) not confirmed are in exc.remaining{rest}. "
            f"Cause: {cause}",
        )
        # The cause's own fields (status_code, missing_scope...): this error is also of its class.
        for name, value in cause.__dict__.items():
            self.__dict__.setdefault(name, value)
        self.cause = cause
        self.result = result
        self.remaining = remaining
        self.unconsumed = unconsumed if unconsumed is not None else iter(())
        self.unconsumed_dropped = False

    def _state_to_pickle(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["unconsumed"] = iter(())
        state["unconsumed_dropped"] = self.unconsumed_dropped or _may_hold_more(self.unconsumed)
        return state

    def __deepcopy__(self, memo: dict[int, Any]) -> BulkDeleteError:
        clone = _rebuild(type(self), self.args)
        clone.__dict__.update(copy.deepcopy(self._state_to_pickle(), memo))
        return clone

    def _compared(self) -> dict[str, Any]:
        ignored = ("unconsumed", "unconsumed_dropped")  # an iterator equals only itself
        return {k: v for k, v in self.__dict__.items() if k not in ignored}

    @property
    def persons_deleted(self) -> int:
        return self.result.persons_deleted

    def resume_ids(self) -> Iterator[Any]:
        """The ids to pass to bulk_delete again to finish the job."""
        return chain(self.remaining, self.unconsumed)


def _may_hold_more(iterator: Iterator[Any]) -> bool:
    hint = getattr(iterator, "__length_hint__", None)
    try:
        return hint is None or bool(hint())
    except TypeError:
        return True


class BulkDeleteInputError(BulkDeleteError, InvalidInputError):
    """A bad id was read from an iterator passed to bulk_delete; no request was sent for it.

    The ids read before it (not yet sent) are in `remaining`, the rest in `unconsumed`.
    """


# BulkDeleteError stopped by an error of each class, also an instance of that class. Built in
# a loop, bound to module-level names, so that they pickle by name like any other class.
_VARIANTS: dict[type[PostHogError], type[BulkDeleteError]] = {
    InvalidInputError: BulkDeleteInputError,
    PostHogError: BulkDeleteError,
}
for _cause in (
    APIError,
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitError,
    ServerError,
    MalformedResponseError,
    APIConnectionError,
    APITimeoutError,
):
    _name = "BulkDelete" + _cause.__name__
    _VARIANTS[_cause] = globals()[_name] = type(
        _name,
        (BulkDeleteError, _cause),
        {
            "__module__": __name__,
            "__qualname__": _name,
            "__doc__": f"A bulk delete stopped by a {_cause.__name__} (and is one).",
        },
    )


def _variant(cause: type[PostHogError]) -> type[BulkDeleteError]:
    for cls in cause.__mro__:
        if cls in _VARIANTS:
            return _VARIANTS[cls]
    return BulkDeleteError


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


def redact(content: bytes, secret: str | None) -> bytes:
    """`content` with every occurrence of the key replaced: a server can echo the header."""
    if not secret:
        return content
    return content.replace(secret.encode(), REDACTED.encode())


def error_from_response(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    method: str | None = None,
    path: str | None = None,
    about_a_person: bool = False,
    secret: str | None = None,
) -> APIError:
    """THE mapping from an error response to an exception.

    `about_a_person`: the path names one person, so a 404 is about that person unless the
    server says it is the project (PostHog's routing answers "Project not found." for a
    project the key cannot see); on any other path a 404 can only be the project.
    `secret`: the API key, redacted from the body before anything reads it.
    """
    from .retry import parse_retry_after  # lazy: keeps this module httpx-free

    body = _decode(redact(content, secret))
    detail = _detail(body)
    try:
        reason = HTTPStatus(status_code).phrase
    except ValueError:
        reason = "Error"
    message = f"{status_code} {reason}" + (f": {detail}" if detail else "")
    code = body.get("code") if isinstance(body, Mapping) else None
    common: dict[str, Any] = {
        "status_code": status_code,
        "method": method,
        "path": path,
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
        project = not about_a_person or "project" in (detail or "").lower()
        resource: NotFoundResource = "project" if project else "person"
        return NotFoundError(message, resource=resource, **common)
    if status_code == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        hint = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return RateLimitError(message + hint, retry_after=retry_after, **common)
    if status_code >= 500:
        return ServerError(message, **common)
    return APIError(message, **common)


def malformed(
    what: str, *, status_code: int = 200, method: str | None = None, path: str | None = None
) -> MalformedResponseError:
    """The error for an answer that lacks the documented shape (`what` says how)."""
    where = f" ({method} {path})" if method and path else ""
    return MalformedResponseError(
        f"unexpected response{where}: {what}",
        status_code=status_code,
        method=method,
        path=path,
    )
