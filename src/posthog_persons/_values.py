"""Single JSON values read defensively: a value of the wrong type is treated as missing.

Shared by posthog_persons._convert (which builds the facade's types from response bodies) and
the lazily read fields of models.Person, which must read a record exactly as _convert would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def extra_fields(src: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    if src.keys() <= known:
        return {}
    return {k: v for k, v in src.items() if k not in known}


def datetime_or_none(value: Any) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        from dateutil.parser import isoparse  # rare: forms Python 3.11 does not read

        try:
            return isoparse(value)
        except (ValueError, OverflowError):
            return None


def int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None
