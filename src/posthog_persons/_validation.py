"""Input checks, run before any request; each error names the bad value."""

from __future__ import annotations

import json
import re
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


#: PostHog stores a distinct id in a varchar(400) (`PersonDistinctId.distinct_id`,
#: posthog/models/person/person.py) and its ingestion drops events whose distinct id is longer
#: (`MAX_DISTINCT_ID_LENGTH = 400`, plugin-server's event-metadata validation): a longer one can
#: never match a person.
MAX_DISTINCT_ID_LENGTH = 400
# Unicode category Cc exactly (C0 controls, DEL, C1 controls), as a regex: millions of ids are
# checked in seconds where a per-character category lookup takes far longer.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def validate_uuid(value: object) -> str:
    """A person UUID in canonical lowercase form; InvalidInputError naming the value if not.

    Accepts what `uuid.UUID` reads (any case, braces, `urn:uuid:`, no hyphens) and UUID
    objects; the string is taken exactly as given (no surrounding whitespace is stripped).
    """
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # the common form, at a fraction of uuid.UUID's cost
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and value:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    hint = " (use distinct_ids= for distinct ids)" if isinstance(value, str) and value else ""
    raise InvalidInputError(f"{_show(value)} is not a valid person UUID{hint}", reason="not a UUID")


def validate_distinct_id(value: object) -> str:
    """A distinct id, unchanged; InvalidInputError naming the value if it cannot be one.

    THE rule, shared by the client and the CLI. A distinct id is any string PostHog can store:
    not blank, at most 400 characters (MAX_DISTINCT_ID_LENGTH) and free of control characters
    (Unicode Cc). The length is the server's own limit: a longer id matches nothing, so it can
    only be a mistake (a whole CSV row, a file read whole). Control characters: PostgreSQL
    cannot store NUL at all, and an id holding a tab, an escape or a C1 byte is, in the inputs
    of an erasure, a damaged or mis-decoded file far more often than a real id; refusing it
    before any request costs nothing, while sending it would silently match no one. The rare
    real id of that kind can still be erased by its person's UUID (bulk_delete(ids=...)).
    Nothing is stripped: " alice" is not "alice".
    """
    if type(value) is not str:
        raise InvalidInputError(
            f"distinct ids are strings; got {_show(value)} ({type(value).__name__})",
            reason="not a string",
        )
    if not value or value.isspace():
        raise InvalidInputError(f"empty distinct id: {_show(value)}", reason="blank")
    if len(value) > MAX_DISTINCT_ID_LENGTH:
        raise InvalidInputError(
            f"{_show(value)} is too long for a distinct id: {len(value):,} characters, the "
            f"server keeps at most {MAX_DISTINCT_ID_LENGTH}",
            reason="too long",
        )
    if _CONTROL.search(value):
        raise InvalidInputError(
            f"distinct id {_show(value)} contains control characters", reason="control characters"
        )
    return value


def person_ref(value: object) -> str:
    """A numeric person id or a person UUID, as the path parameter."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _is_decimal(value.strip()):
        return value.strip()
    try:
        return validate_uuid(value)
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


def flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {_show(value)}")
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
