"""Handlers of the read operations: (state, request) -> response, as the 2026 server answers.

Each cites the server code it follows (posthog/api/person.py unless said otherwise).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from ._data import StoredPerson, format_datetime
from ._filters import canonical_value, compile_properties, search
from ._http import (
    EmulatorRequest,
    EmulatorResponse,
    body_fields,
    invalid,
    json_response,
    not_found,
    plain_error,
)
from ._state import EmulatorState, canonical_uuid

# posthog/api/person.py DEFAULT_PAGE_LIMIT.
DEFAULT_PAGE_LIMIT = 100
# posthog/hogql/constants.py MAX_SELECT_RETURNED_ROWS: the HogQL paginator never returns more
# rows than this, whatever `limit` asks for.
MAX_LIST_ROWS = 50_000
# posthog/hogql/constants.py CSV_EXPORT_LIMIT: a CSV list is one page of up to this many.
CSV_EXPORT_LIMIT = 300_000
# posthog/api/person.py batch_by_distinct_ids / batch_by_uuids MAX_BATCH_SIZE.
BATCH_LOOKUP_MAX = 200
# posthog/api/person.py safely_get_object.
NOT_A_PERSON_ID = (
    "The ID provided does not look like a personID. If you are using a distinctId, "
    "please use /persons?distinct_id={id} instead."
)


def person_for(state: EmulatorState, request: EmulatorRequest) -> StoredPerson:
    """posthog/api/person.py safely_get_object: a UUID or an integer, else 400; absent, 404."""
    ref = request.person_ref or ""
    if canonical_uuid(ref) is None:
        try:
            int(ref)
        except ValueError:
            raise invalid(NOT_A_PERSON_ID.format(id=ref)) from None
    person = state.by_reference(ref.strip())
    if person is None:
        raise not_found()
    return person


def _int_or(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def list_persons(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """PersonViewSet.list: an ActorsQuery, hydrated by get_serialized_people."""
    is_csv = request.arg("format") == "csv"
    limit = _int_or(request.arg("limit"), 0)
    offset = max(0, _int_or(request.arg("offset"), 0))
    if is_csv:
        limit, offset = CSV_EXPORT_LIMIT, 0
    elif limit <= 0:
        # `elif not filter.limit`: no limit (or 0) means the default page.
        limit = DEFAULT_PAGE_LIMIT
    persons = state.in_list_order()
    distinct_id = request.arg("distinct_id")
    if distinct_id:
        match = state.by_distinct(distinct_id)
        persons = [match] if match is not None else []
    email = request.arg("email")
    if email:
        persons = [p for p in persons if p.properties.get("email") == email]
    raw_filters = request.arg("properties")
    if raw_filters:
        predicate = compile_properties(raw_filters)
        persons = [p for p in persons if predicate(p.properties)]
    term = request.arg("search")
    if term:
        persons = search(persons, term)
    page = persons[offset : offset + min(limit, MAX_LIST_ROWS)]
    if is_csv:
        return _csv_response(page)
    payload: dict[str, Any] = {
        "results": [p.to_actor() for p in page],
        # `_should_paginate = len(actor_ids) >= filter.limit`: a full page (by the limit
        # asked for, not the 50,000 cap) always advertises a next page.
        "next": request.page_url(offset + limit) if len(page) >= limit else None,
        "previous": request.page_url(offset - limit) if offset - limit >= 0 else None,
    }
    if "include_total" in request.query:
        payload["count"] = len(persons)
    return json_response(200, payload)


def _csv_response(page: list[StoredPerson]) -> EmulatorResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "uuid", "name", "distinct_ids", "created_at", "properties"])
    for person in page:
        record = person.to_actor()
        writer.writerow(
            [
                record["id"],
                record["uuid"],
                record["name"],
                json.dumps(record["distinct_ids"]),
                record["created_at"],
                json.dumps(record["properties"], sort_keys=True),
            ]
        )
    return EmulatorResponse(200, {"Content-Type": "text/csv"}, buffer.getvalue().encode())


def retrieve(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    return json_response(200, person_for(state, request).to_api())


def _lookup_ids(request: EmulatorRequest, field: str) -> list[Any]:
    """`request.data.get(field, [])`; not a list, or empty: `{"results": {}}`."""
    values = body_fields(request).get(field, [])
    if not isinstance(values, list):
        return []
    return values[:BATCH_LOOKUP_MAX]


def batch_by_distinct_ids(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    results: dict[str, Any] = {}
    for distinct_id in _lookup_ids(request, "distinct_ids"):
        person = state.by_distinct(str(distinct_id))
        if person is not None:
            results[str(distinct_id)] = person.to_minimal()
    return json_response(200, {"results": results})


def batch_by_uuids(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    canonical = [
        canonical_uuid(u) if isinstance(u, str) else None for u in _lookup_ids(request, "uuids")
    ]
    if any(u is None for u in canonical):
        raise invalid("One or more UUIDs are invalid.")
    results: dict[str, Any] = {}
    for value in canonical:
        person = state.by_reference(value or "")
        if person is not None:
            results[person.uuid] = person.to_minimal()
    return json_response(200, {"results": results})


def _point_in_time(raw: str) -> datetime | None:
    """properties_at_time's own timestamp parsing (naive means UTC)."""
    try:
        if raw.endswith("Z"):
            return datetime.fromisoformat(raw[:-1]).replace(tzinfo=UTC)
        if "+" in raw or raw.count("-") > 2:
            return datetime.fromisoformat(raw)
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        return None


def properties_at_time(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    distinct_id, person_id = request.arg("distinct_id"), request.arg("person_id")
    if distinct_id and person_id:
        raise plain_error(400, "Cannot provide both distinct_id and person_id - choose one")
    if not distinct_id and not person_id:
        raise plain_error(400, "Must provide either distinct_id or person_id parameter")
    raw = request.arg("timestamp")
    if not raw:
        raise plain_error(400, "timestamp parameter is required (ISO format: 2023-06-15T14:30:00Z)")
    moment = _point_in_time(raw)
    if moment is None:
        raise plain_error(400, "Invalid timestamp format. Use ISO format like 2023-06-15T14:30:00Z")
    include_set_once = (request.arg("include_set_once") or "false").lower() == "true"
    person = state.by_distinct(distinct_id) if distinct_id else state.by_reference(person_id or "")
    if person is None:
        kind = "distinct_id" if distinct_id else "person_id"
        raise plain_error(404, f"Person with {kind} '{distinct_id or person_id}' not found")
    record = person.to_api()
    # No history is kept: before the person existed nothing was set, after it the current
    # properties are the best approximation.
    compare = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if compare < person.created_at:
        record["properties"] = {}
    record["point_in_time_metadata"] = {
        "queried_timestamp": moment.isoformat(),
        "include_set_once": include_set_once,
        "distinct_id_used": distinct_id,
        "person_id_used": person_id,
        "query_mode": "distinct_id" if distinct_id else "person_id",
        "distinct_ids_queried": list(person.distinct_ids),
        "distinct_ids_count": len(person.distinct_ids),
    }
    return json_response(200, record)


def values(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """PersonViewSet.values: no key (or a `$virt` one) is an empty answer, not an error."""
    key = request.arg("key")
    if not key or key.startswith("$virt"):
        return json_response(200, {"results": [], "refreshing": False})
    needle = (request.arg("value") or "").lower()
    counts: dict[str, tuple[Any, int]] = {}
    for person in state.persons.values():
        if key not in person.properties:
            continue
        value = person.properties[key]
        label = canonical_value(value)
        if needle and needle not in label.lower():
            continue
        counts[label] = (value, counts.get(label, (value, 0))[1] + 1)
    ranked = sorted(counts.values(), key=lambda item: (-item[1], canonical_value(item[0])))
    return json_response(
        200,
        {"results": [{"name": v, "count": n} for v, n in ranked[:100]], "refreshing": False},
    )


def cohorts(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    person_id = request.arg("person_id")
    if not person_id:
        raise invalid("This field is required.", "person_id", code="required")
    if state.by_reference(person_id) is None:
        raise not_found()
    return json_response(200, {"results": []})


def activity(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """all_activity / activity: an activity_page_response with nothing logged."""
    if request.person_ref is not None:
        person_for(state, request)
    return json_response(200, {"results": [], "next": None, "previous": None, "total_count": 0})


def properties_timeline(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    person = person_for(state, request)
    return json_response(
        200,
        {
            "points": [],
            "crucial_property_keys": [],
            "effective_date_from": format_datetime(person.created_at),
            "effective_date_to": format_datetime(state.now_dt()),
        },
    )


def message_assets(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """emails / push_notifications: the messages workflows sent this person (none here)."""
    person_for(state, request)
    return json_response(200, [])


def legacy_actors(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """funnel / trends (_respond_with_cached_results) and lifecycle; no events, no actors."""
    del state
    people = [{"people": [], "count": 0}]
    if request.operation != "lifecycle":
        return json_response(
            200,
            {
                "results": people,
                "next": None,
                "initial": request.page_url(0),
                "missing_persons": 0,
                "is_cached": False,
                "last_refresh": None,
            },
        )
    for name, detail in (
        ("target_date", "Must include specified date"),
        ("lifecycle_type", "Must include lifecycle type"),
    ):
        if request.arg(name) is None:
            return json_response(400, {"message": "Missing parameter", "detail": detail})
    return json_response(200, {"results": people, "next": None})
