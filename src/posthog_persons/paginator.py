"""Pagination: follow `next` until it is null, on the configured origin only, once per record.

- A page shorter than `limit` with a `next` link is NOT the end (PostHog issue 24787): only a
  null `next` ends the walk. A last full page is followed by one empty page.
- `next` is an absolute URL built by the server. It is followed only when its scheme, host and
  port are the configured host's; anything else raises PostHogError naming the foreign origin,
  before any request is sent there (so the API key never goes there). Only its `limit` and
  `offset` are used: the next page is asked for through the same generated operation.
- Offsets shift when records are created meanwhile, repeating a record across a page
  boundary; the cursor remembers the previous page's keys (constant memory) and drops repeats.
- No endless walks: a server whose pages bring nothing new (empty, or the previous page again)
  while `next` keeps advancing would be followed forever. Such pages are legitimate now and
  then (the list pages over ClickHouse ids and hydrates the persons from Postgres, dropping
  those just deleted: posthog/api/person.py, `PersonViewSet.list`, sets `next` whenever
  `len(actor_ids) >= limit`), so a run of them is tolerated, up to MAX_BARREN_PAGES in a row.
- A page holds at most MAX_PAGE_SIZE records (the server's cap); the facade refuses a larger
  `page_size` before any request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar
from urllib.parse import SplitResult, parse_qs, urljoin, urlsplit

from ._config import Origin
from .errors import PostHogError

__all__ = ["MAX_BARREN_PAGES", "MAX_PAGE_SIZE", "PageCursor", "next_page"]

#: The server's largest page: posthog/hogql/constants.py MAX_SELECT_RETURNED_ROWS = 50000, the
#: cap HogQLHasMorePaginator.from_limit_context (posthog/hogql_queries/insights/paginators.py)
#: puts on `limit`. Above it the list answers 50,000 rows and `next: null`: a silent truncation.
MAX_PAGE_SIZE = 50_000
#: How many pages in a row may bring no new record (empty, or repeating the previous page)
#: while `next` advances, before the walk stops with an error instead of running forever.
MAX_BARREN_PAGES = 100

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
    parts = urlsplit(next_url)
    if (parts.scheme or parts.netloc) and not _same_origin(parts, origin):
        absolute = urlsplit(urljoin(str(origin) + "/", next_url))
        foreign = f"{absolute.scheme}://{absolute.netloc.rpartition('@')[2]}"
        raise PostHogError(
            f"refusing to follow a pagination link to {foreign}, which is not the configured "
            f"host {origin}; the API key is only sent to the configured host"
        )
    query = parse_qs(parts.query)
    new_offset = _int_param(query, "offset")
    if new_offset is None or new_offset <= offset:
        raise PostHogError(
            f"cannot follow a pagination link without an advancing offset (at offset {offset})"
        )
    return _int_param(query, "limit") or limit, new_offset


def _same_origin(parts: SplitResult, origin: Origin) -> bool:
    """Whether an absolute (or scheme-relative) link is on the configured origin."""
    try:
        return Origin.parse(parts.geturl()) == origin
    except ValueError:  # no scheme (`//host/...`), not http(s), or no host
        return False


class PageCursor(Generic[T]):
    """Where a paginated walk is, and which records the previous page held."""

    def __init__(
        self,
        origin: Origin,
        page_size: int,
        key: Callable[[T], Hashable],
        *,
        max_barren_pages: int = MAX_BARREN_PAGES,
    ) -> None:
        self._origin, self._key = origin, key
        self.limit, self.offset = page_size, 0
        self.done = False
        self._previous: set[Hashable] = set()
        self._barren, self._max_barren = 0, max_barren_pages

    def params(self) -> dict[str, Any] | None:
        """The limit/offset of the next page to ask for, or None at the end."""
        return None if self.done else {"limit": self.limit, "offset": self.offset}

    def accept(self, items: list[T], next_url: str | None) -> list[T]:
        """Take one page: return its new records, and move to the page `next_url` names."""
        keys = [self._key(item) for item in items]
        current = set(keys)
        if len(current) == len(keys) and current.isdisjoint(self._previous):
            fresh = items  # the usual page: nothing repeated, nothing to drop
        else:
            fresh, seen = [], set(self._previous)
            for item, key in zip(items, keys, strict=True):
                if key not in seen:
                    seen.add(key)
                    fresh.append(item)
        self._previous = current
        if next_url is None:
            self.done = True
            return fresh
        self._barren = 0 if fresh else self._barren + 1
        if self._barren > self._max_barren:
            self.done = True
            raise PostHogError(
                f"stopped paging at offset {self.offset}: {self._barren} pages in a row brought "
                "no new record although the server kept sending a next link"
            )
        self.limit, self.offset = next_page(
            next_url, self._origin, limit=self.limit, offset=self.offset
        )
        return fresh
