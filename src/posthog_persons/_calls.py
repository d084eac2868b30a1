"""One generated `*_detailed` call: its reply, and the translation of its failures.

The generated functions return documented error statuses as values; `Outcome.reply()` maps
every non-2xx status to an exception through `errors.error_from_response` (the one place).
When the generated parser rejects a body (a newer server's shape, an error body it does not
expect), the raw response, remembered by an httpx response hook, is used instead and read
defensively by `_convert`; httpx transport failures become APIConnectionError, and any other
httpx error (a body it cannot decode) a PostHogError, so that callers only ever see ours.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

import attrs
import httpx

from .errors import APIConnectionError, APITimeoutError, PostHogError, error_from_response

logger = logging.getLogger("posthog_persons")

_last_response: ContextVar[httpx.Response | None] = ContextVar(
    "posthog_persons_last_response", default=None
)
_PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def remember_response(response: httpx.Response) -> None:
    """httpx response hook (sync)."""
    _last_response.set(response)


async def aremember_response(response: httpx.Response) -> None:
    """httpx response hook (async)."""
    _last_response.set(response)


@attrs.frozen
class Reply:
    status_code: int
    content: bytes
    parsed: Any

    @property
    def data(self) -> Any:
        """The generated model, or the raw JSON when the generated parser gave up."""
        if self.parsed is not None:
            return self.parsed
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            raise PostHogError(
                f"unexpected response: HTTP {self.status_code} with a body that is not JSON"
            ) from None


def _scrub(exc: httpx.HTTPError) -> None:
    """Drop the key from the failed request an httpx error carries (it becomes `__cause__`).

    Its repr already hides the header, but `dict(exc.request.headers)` would not; the request
    is finished (every retry is spent), so nothing sends it again.
    """
    request = getattr(exc, "_request", None)
    if isinstance(request, httpx.Request):
        request.headers.pop("Authorization", None)


class Outcome:
    """Context manager around one generated call; `reply()` returns it or raises."""

    def __init__(self, origin: object) -> None:
        self._origin = origin
        self.response: Any = None

    def __enter__(self) -> Outcome:
        _last_response.set(None)
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        if isinstance(exc, httpx.HTTPError):
            _scrub(exc)
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"timed out talking to {self._origin}: {exc!r}") from exc
        if isinstance(exc, httpx.TransportError):
            raise APIConnectionError(f"could not reach {self._origin}: {exc!r}") from exc
        if isinstance(exc, httpx.HTTPError):  # e.g. DecodingError: a body httpx cannot decode
            raise PostHogError(f"unexpected response from {self._origin}: {exc!r}") from exc
        raw = _last_response.get()
        if isinstance(exc, _PARSE_ERRORS) and raw is not None:
            logger.debug(
                "generated parser rejected HTTP %s (%r); reading raw", raw.status_code, exc
            )
            self.response = (raw.status_code, raw.headers, raw.content)
            return True
        return False

    def reply(self) -> Reply:
        if isinstance(self.response, tuple):
            status, headers, content = self.response
            parsed = None
        else:  # a generated Response, or an httpx.Response for a raw call
            status, headers = int(self.response.status_code), self.response.headers
            content, parsed = self.response.content, getattr(self.response, "parsed", None)
        if not 200 <= status < 300:
            raise error_from_response(status, headers, content)
        return Reply(status, content, parsed)
