"""Pagination: follow `next` until it is null, on the configured origin only, once per record.

- A page shorter than `limit` with a `next` link is NOT the end (PostHog issue 24787): only a
  null `next` ends the walk. A last full page is followed by one empty page.
- `next` is an absolute URL built by the server. It is followed only when its scheme, host and
  port are the configured host's; anything else raises PostHogError naming the foreign origin,
  before any request is sent there (so the API key never goes there). Only its `limit` and
  `offset` are used: the next page is asked for through the same generated operation.
- Offsets shift when records are created meanwhile, repeating a record across a page
  boundary; the cursor remembers the previous page's keys (constant memory) and drops repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

from ._config import Origin
from .errors import PostHogError

__all__ = ["PageCursor", "next_page"]

T = TypeVar("T")


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    if not values:
        return None
    try:
        value = int(values[-1])
    except ValueError:
        return None
    return value if value >= 0 else None


def next_page(next_url: str, origin: Origin, *, limit: int, offset: int) -> tuple[int, int]:
    """(limit, offset) of the page a `next` link points to, after checking its origin."""
    absolute = urljoin(str(origin) + "/", next_url)
    try:
        target = Origin.parse(absolute)
    except ValueError:
        target = None
    if target != origin:
        parts = urlsplit(absolute)
        foreign = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        raise PostHogError(
            f"refusing to follow a pagination link to {foreign}, which is not the configured "
            f"host {origin}; the API key is only sent to the configured host"
        )
    query = parse_qs(urlsplit(absolute).query)
    new_offset = _int_param(query, "offset")
    if new_offset is None or new_offset <= offset:
        raise PostHogError(
            f"cannot follow a pagination link without an advancing offset (at offset {offset})"
        )
    return _int_param(query, "limit") or limit, new_offset


class PageCursor(Generic[T]):
    """Where a paginated walk is, and which records the previous page held."""

    def __init__(self, origin: Origin, page_size: int, key: Callable[[T], Hashable]) -> None:
        self._origin, self._key = origin, key
        self.limit, self.offset = page_size, 0
        self.done = False
        self._previous: set[Hashable] = set()

    def params(self) -> dict[str, Any] | None:
        """The limit/offset of the next page to ask for, or None at the end."""
        return None if self.done else {"limit": self.limit, "offset": self.offset}

    def accept(self, items: list[T], next_url: str | None) -> list[T]:
        """Take one page: return its new records, and move to the page `next_url` names."""
        keys = [self._key(item) for item in items]
        fresh, seen = [], set(self._previous)
        for item, key in zip(items, keys, strict=True):
            if key not in seen:
                seen.add(key)
                fresh.append(item)
        self._previous = set(keys)
        if next_url is None:
            self.done = True
        else:
            self.limit, self.offset = next_page(
                next_url, self._origin, limit=self.limit, offset=self.offset
            )
        return fresh
