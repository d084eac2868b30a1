"""Input checks, run before any request; each error names the bad value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import InvalidInputError

DELETION_STATUSES = ("pending", "completed", "all")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_decimal(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²" and "١٢", which no server reads."""
    return text.isascii() and text.isdigit()


def canonical_uuid(value: object, what: str = "person UUID") -> str:
    """A UUID in canonical lowercase form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and value.strip():
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    hint = " (use distinct_ids= for distinct ids)" if isinstance(value, str) and value else ""
    raise InvalidInputError(f"{_show(value)} is not a valid {what}{hint}")


def distinct_id(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(
            f"distinct ids are strings; got {_show(value)} ({type(value).__name__})"
        )
    if not value.strip():
        raise InvalidInputError(f"empty distinct id: {_show(value)}")
    return value


def person_ref(value: object) -> str:
    """A numeric person id or a person UUID, as the path parameter."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _is_decimal(value.strip()):
        return value.strip()
    try:
        return canonical_uuid(value)
    except InvalidInputError:
        pass
    raise InvalidInputError(
        f"{_show(value)} is neither a numeric person id nor a person UUID; if it is a distinct "
        f"id, use iter_persons(distinct_id=...) or get_persons_by_distinct_ids([...])"
    )


def iterable(value: object, name: str) -> Iterable[object]:
    """An iterable of ids: not a lone string, bytes or mapping, and not a scalar."""
    if isinstance(value, str | bytes | bytearray):
        raise InvalidInputError(
            f"{name} must be a list of ids, not a single string: {_show(value)}"
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{name} must be an iterable of ids, got {_show(value)} ({type(value).__name__})"
        )
    return value


def unique(values: object, name: str, check: Callable[[object], str]) -> list[str]:
    """Validate a whole input up front; duplicates removed, order kept."""
    return list(dict.fromkeys(check(value) for value in iterable(values, name)))


def positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {_show(value)}")
    return value


def seconds(value: object, name: str, *, allow_zero: bool) -> float:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1
    if not (number > 0 or (allow_zero and number == 0)):  # also rejects NaN
        sign = "non-negative" if allow_zero else "positive"
        raise InvalidInputError(f"{name} must be a {sign} number of seconds, got {_show(value)}")
    return number


def deletion_status(value: object) -> str:
    if value not in DELETION_STATUSES:
        raise InvalidInputError(f"status must be one of {DELETION_STATUSES}, got {_show(value)}")
    return str(value)


def property_filters(value: object) -> str:
    """The `properties` list filter, JSON-encoded as the server reads it."""
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Iterable)
        or isinstance(value, Mapping)
    ):
        raise InvalidInputError(
            "properties must be a list of filter dicts like [{'key': 'plan', 'value': 'pro', "
            f"'operator': 'exact', 'type': 'person'}}], got {_show(value)}"
        )
    filters = list(value)
    for item in filters:
        if not isinstance(item, Mapping) or "key" not in item:
            raise InvalidInputError(f"a property filter must be a dict with a 'key': {_show(item)}")
    try:
        return json.dumps([dict(item) for item in filters], separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"property filters must be JSON-serialisable: {exc}") from None


def text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name} must be a non-empty string, got {_show(value)}")
    return value


def properties(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"properties must be a dict with string keys, got {_show(value)}")
    return dict(value)
