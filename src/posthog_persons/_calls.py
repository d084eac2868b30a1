"""One operation's exchange: its reply, and the translation of its failures.

The facade builds each request with the generated operation module (see `_operations`) and
sends it through the client's paced, retried httpx client itself; the body is read by
`_convert`, never by the generated models (a schema rename must not break the facade, and
parsing every record twice would cost more than the HTTP exchange). `Outcome` turns the
exchange into a `Reply` or one of our exceptions: every non-2xx status through
`errors.error_from_response` (the one place), httpx transport failures into
APIConnectionError, any other httpx error (a body it cannot decode) into a
MalformedResponseError, so callers only ever see ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import httpx

from ._config import Origin, Secret
from ._convert import Malformed
from .errors import (
    REDACTED,
    APIConnectionError,
    APITimeoutError,
    error_from_response,
    malformed,
)

T = TypeVar("T")


@attrs.frozen
class Reply:
    status_code: int
    content: bytes
    method: str
    path: str

    @property
    def data(self) -> Any:
        """The body as JSON (None when empty)."""
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            raise self._malformed("a body that is not JSON") from None

    def read(self, reader: Callable[[Any], T]) -> T:
        """`reader(self.data)`; a body it finds malformed raises MalformedResponseError."""
        try:
            return reader(self.data)
        except Malformed as bad:
            raise self._malformed(str(bad)) from None

    def _malformed(self, what: str) -> Exception:
        return malformed(
            f"HTTP {self.status_code} with {what}",
            status_code=self.status_code,
            method=self.method,
            path=self.path,
        )


def _scrub(exc: httpx.HTTPError, secret: Secret) -> None:
    """Drop the key from an httpx error (it becomes `__cause__`, shown in tracebacks): from the
    failed request it carries, and from its message, which can quote what a server sent.

    The request's repr already hides the header, but `dict(exc.request.headers)` would not;
    the request is finished (every retry is spent), so nothing sends it again.
    """
    request = getattr(exc, "_request", None)
    if isinstance(request, httpx.Request):
        request.headers.pop("Authorization", None)
    key = secret.reveal()
    exc.args = tuple(a.replace(key, REDACTED) if isinstance(a, str) else a for a in exc.args)


class Outcome:
    """Context manager around one exchange; set `response`, then `reply()` returns or raises.

    `about_a_person`: the request's path names one person (a 404 is then about the person).
    """

    def __init__(self, origin: Origin, secret: Secret, *, about_a_person: bool) -> None:
        self._origin = origin
        self._secret = secret
        self._about_a_person = about_a_person
        self.response: httpx.Response | None = None

    def __enter__(self) -> Outcome:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, httpx.HTTPError):
            _scrub(exc, self._secret)
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"timed out talking to {self._origin}: {exc!r}") from exc
        if isinstance(exc, httpx.TransportError):
            raise APIConnectionError(f"could not reach {self._origin}: {exc!r}") from exc
        if isinstance(exc, httpx.HTTPError):  # e.g. DecodingError: a body httpx cannot decode
            raise malformed(f"a body httpx cannot read from {self._origin}: {exc!r}") from exc

    def reply(self) -> Reply:
        response = self.response
        assert response is not None
        request = response.request
        method, path = request.method, request.url.path
        status = response.status_code
        if not 200 <= status < 300:
            raise error_from_response(
                status,
                response.headers,
                response.content,
                method=method,
                path=path,
                about_a_person=self._about_a_person,
                secret=self._secret.reveal(),
            )
        return Reply(status, response.content, method, path)
