"""Reading server data defensively into the facade's types.

The input is the JSON of a response. Unknown fields land in `extra`; a missing optional field
is None; a field of the wrong type is treated as missing. A field the answer cannot do without
(a page's `results`, a lookup's `results`, a bulk delete's counts, a person's `uuid`) missing or
of the wrong type raises `Malformed`, which the reply turns into a MalformedResponseError: an
answer we cannot read is a server failure, never "nothing found".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ._values import datetime_or_none, extra_fields, int_or_none
from .models import DeletionStatus, Person, person_from_record

T = TypeVar("T")


class Malformed(ValueError):
    """The body lacks the documented shape (the message says how); see `_calls.Reply.read`."""


_STATUS_FIELDS = frozenset({"person_uuid", "status", "created_at", "delete_verified_at"})
_SUMMARY_FIELDS = frozenset(
    {
        "persons_found",
        "persons_deleted",
        "persons_queued_for_deletion",
        "events_queued_for_deletion",
        "recordings_queued_for_deletion",
        "deletion_errors",
    }
)


def as_json(data: Any) -> dict[str, Any]:
    """A response body that must be a JSON object."""
    if type(data) is dict:
        return data
    raise Malformed(f"a {_json_type(data)} where a JSON object was expected")


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _required_str(src: dict[str, Any], key: str, what: str) -> str:
    value = src.get(key)
    if not isinstance(value, str) or not value:
        raise Malformed(f"a {what} without {key!r}")
    return value


def person(src: Any) -> Person:
    """A Person from a person or minimal-person record (the hot path of iter_persons).

    models.person_from_record reads it (`uuid` now; the datetimes and `extra` on first access,
    which never fails: a field of the wrong type reads as missing).
    """
    if type(src) is not dict:
        src = as_json(src)
    built = person_from_record(src)
    if built is None:
        raise Malformed("a person without 'uuid'")
    return built


def deletion_status(src: Any) -> DeletionStatus:
    src = as_json(src)
    return DeletionStatus(
        person_uuid=_required_str(src, "person_uuid", "deletion status").lower(),
        status=str(src.get("status") or ""),
        created_at=datetime_or_none(src.get("created_at")),
        delete_verified_at=datetime_or_none(src.get("delete_verified_at")),
        extra=extra_fields(src, _STATUS_FIELDS),
    )


@attrs.frozen
class Page(Generic[T]):
    items: list[T]
    next: str | None
    count: int | None


def page(data: Any, build: Callable[[Any], T]) -> Page[T]:
    """One page of a paginated list ({results, next, count})."""
    src = as_json(data)
    results, next_url = src.get("results"), src.get("next")
    if type(results) is not list:
        raise Malformed(f"a page whose 'results' is {_json_type(results)}, not a list")
    return Page(
        [build(item) for item in results],
        next_url if isinstance(next_url, str) and next_url else None,
        int_or_none(src.get("count")),
    )


def lookup(data: Any, *, uuid_keys: bool = False) -> dict[str, Person]:
    """The results of a batch lookup: {key: Person} (UUID keys in lowercase)."""
    results = as_json(data).get("results")
    if not isinstance(results, Mapping):
        raise Malformed(f"a lookup whose 'results' is {_json_type(results)}, not an object")
    if uuid_keys:
        return {str(key).lower(): person(value) for key, value in results.items()}
    return {str(key): person(value) for key, value in results.items()}


def lookup_by_uuid(data: Any) -> dict[str, Person]:
    return lookup(data, uuid_keys=True)


@attrs.frozen
class Summary:
    """One bulk delete batch's summary."""

    persons_found: int
    persons_deleted: int
    persons_queued: int
    errors: tuple[str, ...]
    events_queued: bool
    recordings_queued: bool
    extra: dict[str, Any]


def _count(src: dict[str, Any], key: str) -> int:
    value = src.get(key)
    if type(value) is not int or value < 0:
        raise Malformed(f"a bulk delete summary whose {key!r} is {value!r}, not a count")
    return value


def summary(data: Any) -> Summary:
    """A bulk delete's answer; `persons_queued_for_deletion` (newer servers) is 0 when absent."""
    src = as_json(data)
    errors = src.get("deletion_errors")
    return Summary(
        persons_found=_count(src, "persons_found"),
        persons_deleted=_count(src, "persons_deleted"),
        persons_queued=int_or_none(src.get("persons_queued_for_deletion")) or 0,
        errors=tuple(
            e["person_uuid"].lower()
            for e in (errors if type(errors) is list else ())
            if isinstance(e, Mapping) and isinstance(e.get("person_uuid"), str)
        ),
        events_queued=src.get("events_queued_for_deletion") is True,
        recordings_queued=src.get("recordings_queued_for_deletion") is True,
        extra=extra_fields(src, _SUMMARY_FIELDS),
    )
