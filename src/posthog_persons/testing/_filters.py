"""The persons list's filters: `properties` (a JSON-encoded list) and `search`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._data import StoredPerson
from ._http import invalid
from ._state import canonical_uuid

PropertyPredicate = Callable[[Mapping[str, Any]], bool]

_OPERATORS = (
    "exact",
    "is_not",
    "icontains",
    "not_icontains",
    "regex",
    "not_regex",
    "is_set",
    "is_not_set",
    "gt",
    "gte",
    "lt",
    "lte",
)
# What the 2026 schema's `search` description calls "a complete email address".
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def canonical_value(value: Any) -> str:
    """Compare property values the lenient way the server does (`"5" == 5`, `"true" == True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def compile_properties(raw: str) -> PropertyPredicate:
    """Parse the `properties` query parameter (a JSON-encoded list) into one predicate.

    posthog/api/person.py list reads it with json.loads and defaults each filter's operator
    to "exact" before handing it to the ActorsQuery.
    """
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise invalid(f"Properties are not valid JSON: {error}", "properties") from error
    # A property group ({"type": "AND", "values": [...]}) is accepted too, flattened to AND.
    if isinstance(parsed, dict) and isinstance(parsed.get("values"), list):
        parsed = parsed["values"]
    if not isinstance(parsed, list):
        raise invalid("Properties must be a JSON list of filters.", "properties")
    predicates = [_compile_filter(item) for item in parsed]
    return lambda props: all(predicate(props) for predicate in predicates)


def _compile_filter(item: Any) -> PropertyPredicate:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str):
        raise invalid("Each property filter needs a string key.", "properties")
    key: str = item["key"]
    operator = item.get("operator") or "exact"
    if operator not in _OPERATORS:
        raise invalid(f"Unknown property operator {operator!r}.", "properties")
    value = item.get("value")
    wanted = [canonical_value(v) for v in (value if isinstance(value, list) else [value])]

    def present(props: Mapping[str, Any]) -> bool:
        return props.get(key) is not None

    def text(props: Mapping[str, Any]) -> str:
        return canonical_value(props.get(key))

    def compare(props: Mapping[str, Any], op: Callable[[float, float], bool]) -> bool:
        left, right = _number(props.get(key)), _number(value)
        return left is not None and right is not None and op(left, right)

    if operator == "exact":
        return lambda p: present(p) and text(p) in wanted
    if operator == "is_not":
        # Absent properties count as "not equal", as with the server's null-safe comparison.
        return lambda p: not present(p) or text(p) not in wanted
    if operator == "icontains":
        return lambda p: present(p) and any(w.lower() in text(p).lower() for w in wanted)
    if operator == "not_icontains":
        return lambda p: not present(p) or not any(w.lower() in text(p).lower() for w in wanted)
    if operator in ("regex", "not_regex"):
        try:
            pattern = re.compile(wanted[0])
        except re.error as error:
            raise invalid(f"Invalid regex: {error}", "properties") from error
        if operator == "regex":
            return lambda p: present(p) and bool(pattern.search(text(p)))
        return lambda p: not present(p) or not pattern.search(text(p))
    if operator == "is_set":
        return present
    if operator == "is_not_set":
        return lambda p: not present(p)
    ops: dict[str, Callable[[float, float], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    op = ops[operator]
    return lambda p: compare(p, op)


def _ilike(term: str) -> re.Pattern[str]:
    """`ILIKE '%term%'` as ClickHouse reads it: `%` and `_` in the term are wildcards too
    (the server does not escape them), a backslash escapes the next character."""
    parts: list[str] = []
    escaped = False
    for char in term:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def search(persons: Iterable[StoredPerson], term: str) -> list[StoredPerson]:
    """The list's `search`, as the 2026 server runs it.

    posthog/hogql_queries/actor_strategies.py PersonStrategy.filter_conditions: ILIKE
    `%term%` over properties.email, properties.name, the person UUID and every distinct id.
    The 2026 schema's description of `search` (and ../shared/posthog-persons-api.md) adds:
    a complete email address or UUID that exactly matches a distinct id or person UUID
    returns only that person.
    """
    candidates = list(persons)
    exact_uuid = canonical_uuid(term)
    if exact_uuid is not None or _EMAIL.match(term):
        exact = [p for p in candidates if p.uuid == exact_uuid or term in p.distinct_ids]
        if exact:
            return exact
    pattern = _ilike(term)

    def matches(person: StoredPerson) -> bool:
        fields = [person.uuid, *person.distinct_ids]
        for key in ("email", "name"):
            value = person.properties.get(key)
            if value is not None:
                fields.append(canonical_value(value))
        return any(pattern.search(field) for field in fields)

    return [p for p in candidates if matches(p)]
