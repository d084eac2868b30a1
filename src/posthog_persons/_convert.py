"""Reading server data defensively into the facade's types.

The input is either a generated model (when the generated parser accepted the body) or the raw
JSON (when it did not: a newer server's shape, a missing optional field); `_get` reads both, so
each type has one builder. Unknown fields land in `extra`; a missing optional field is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
from posthog_persons_api.types import Unset

from .errors import PostHogError
from .models import DeletionStatus, Person

T = TypeVar("T")

_PERSON_FIELDS = frozenset(
    {"id", "uuid", "name", "distinct_ids", "properties", "created_at", "last_seen_at"}
)
_STATUS_FIELDS = frozenset({"person_uuid", "status", "created_at", "delete_verified_at"})
SUMMARY_FIELDS = frozenset(
    {
        "persons_found",
        "persons_deleted",
        "events_queued_for_deletion",
        "recordings_queued_for_deletion",
        "deletion_errors",
    }
)


def _get(src: Any, key: str) -> Any:
    """A field of a JSON object or of a generated model; None when absent or unset."""
    if isinstance(src, Mapping):
        return src.get(key)
    value = getattr(src, key, None)
    if value is None:
        value = getattr(src, key + "_", None)  # the generator renames next -> next_
    return None if isinstance(value, Unset) else value


def _extra(src: Any, known: frozenset[str]) -> dict[str, Any]:
    if isinstance(src, Mapping):
        return {k: v for k, v in src.items() if k not in known}
    return dict(getattr(src, "additional_properties", {}))


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    return dict(getattr(value, "additional_properties", {}))


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            from dateutil.parser import isoparse

            try:
                return isoparse(value)
            except (ValueError, OverflowError):
                return None
    return None


def _required_str(src: Any, key: str, what: str) -> str:
    value = _get(src, key)
    if value is None or value == "":
        raise PostHogError(f"unexpected response: a {what} without {key!r}")
    return str(value)


def person(src: Any) -> Person:
    """A Person from a generated Person / MinimalPerson or from raw JSON."""
    raw_id = _get(src, "id")
    return Person(
        id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None,
        uuid=_required_str(src, "uuid", "person"),
        name=_get(src, "name"),
        distinct_ids=tuple(_get(src, "distinct_ids") or ()),
        properties=_mapping(_get(src, "properties")),
        created_at=_datetime(_get(src, "created_at")),
        last_seen_at=_datetime(_get(src, "last_seen_at")),
        extra=_extra(src, _PERSON_FIELDS),
    )


def deletion_status(src: Any) -> DeletionStatus:
    """A DeletionStatus from a generated PersonDeletionStatus or from raw JSON."""
    return DeletionStatus(
        person_uuid=_required_str(src, "person_uuid", "deletion status"),
        status=str(_get(src, "status") or ""),
        created_at=_datetime(_get(src, "created_at")),
        delete_verified_at=_datetime(_get(src, "delete_verified_at")),
        extra=_extra(src, _STATUS_FIELDS),
    )


@attrs.frozen
class Page(Generic[T]):
    items: list[T]
    next: str | None
    count: int | None


def page(src: Any, build: Callable[[Any], T]) -> Page[T]:
    """One page of a paginated list ({results, next, count})."""
    count = _get(src, "count")
    next_url = _get(src, "next")
    return Page(
        [build(item) for item in _get(src, "results") or ()],
        next_url if isinstance(next_url, str) and next_url else None,
        count if isinstance(count, int) else None,
    )


def lookup(src: Any) -> dict[str, Person]:
    """The results of a batch lookup: {key: Person}."""
    return {str(key): person(value) for key, value in _mapping(_get(src, "results")).items()}


@attrs.frozen
class Summary:
    """One bulk delete batch's summary."""

    persons_found: int
    persons_deleted: int
    errors: tuple[str, ...]
    events_queued: bool
    recordings_queued: bool
    extra: dict[str, Any]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def summary(src: Any) -> Summary:
    errors = tuple(
        str(_get(error, "person_uuid"))
        for error in _get(src, "deletion_errors") or ()
        if _get(error, "person_uuid") is not None
    )
    return Summary(
        persons_found=_int(_get(src, "persons_found")),
        persons_deleted=_int(_get(src, "persons_deleted")),
        errors=errors,
        events_queued=bool(_get(src, "events_queued_for_deletion")),
        recordings_queued=bool(_get(src, "recordings_queued_for_deletion")),
        extra=_extra(src, SUMMARY_FIELDS),
    )
