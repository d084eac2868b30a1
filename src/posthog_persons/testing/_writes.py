"""Handlers of the operations that change state, as the 2026 server answers them.

Each cites the server code it follows (posthog/api/person.py unless said otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from ._data import StoredPerson
from ._http import (
    ApiError,
    EmulatorRequest,
    EmulatorResponse,
    body_fields,
    drf_error,
    empty,
    invalid,
    json_response,
    not_found,
)
from ._reads import person_for
from ._state import EmulatorState, canonical_uuid

# posthog/api/person.py _bulk_delete_persons: "You can only pass 1000 ... in one call".
BULK_DELETE_MAX = 1000
# posthog/api/person.py DeletionStatusPagination.default_limit (no max_limit).
DELETION_STATUS_DEFAULT_LIMIT = 100


def _required(field: str) -> ApiError:
    """The 400 update/update_property build by hand, `code` and `detail` swapped as upstream."""
    return ApiError(
        json_response(
            400,
            {
                "attr": field,
                "code": "This field is required.",
                "detail": "required",
                "type": "validation_error",
            },
        )
    )


def _set_properties(state: EmulatorState, person: StoredPerson, values: Any) -> None:
    """A `$set` event: applied by ingestion later; a non-object `$set` changes nothing."""
    if not isinstance(values, Mapping):
        return
    person_uuid, update = person.uuid, dict(values)

    def apply() -> None:
        target = state.by_reference(person_uuid)
        if target is not None:
            target.properties.update(update)

    state.schedule(state.property_update_delay, apply)


def update(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """update / partial_update: `properties` checked first, then the person (_set_properties)."""
    data = body_fields(request)
    if data.get("properties") is None:
        raise _required("properties")
    _set_properties(state, person_for(state, request), data["properties"])
    return empty(202)


def update_property(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    data = body_fields(request)
    if "value" not in data:
        raise _required("value")
    if data.get("key") is None:
        raise _required("key")
    _set_properties(state, person_for(state, request), {str(data["key"]): data["value"]})
    return empty(202)


def delete_property(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """delete_property looks the person up without safely_get_object: any unknown
    reference, a distinct id included, is a 404 rather than the "personID" 400."""
    person = state.by_reference(request.person_ref or "")
    if person is None:
        raise not_found()
    data = body_fields(request)
    if "$unset" not in data:
        raise invalid("This field is required.", "$unset", code="required")
    person_uuid, key = person.uuid, str(data["$unset"])

    def apply() -> None:
        target = state.by_reference(person_uuid)
        if target is not None:
            target.properties.pop(key, None)

    state.schedule(state.property_update_delay, apply)
    return json_response(201, {"success": True})


def split(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """PersonViewSet.split: the person first, then the request's rules, then a queued task."""
    person = person_for(state, request)
    data = body_fields(request)
    main = data.get("main_distinct_id")
    to_split = data.get("distinct_ids_to_split")
    if to_split is not None:
        if not isinstance(to_split, list) or not all(isinstance(d, str) for d in to_split):
            raise invalid("must be a list of strings", "distinct_ids_to_split")
        if not to_split:
            raise invalid("must not be empty", "distinct_ids_to_split")
        if main is not None:
            raise invalid("main_distinct_id cannot be combined with distinct_ids_to_split")
        unknown = sorted(set(to_split) - set(person.distinct_ids))
        if unknown:
            raise invalid(f"not on this person: {unknown}", "distinct_ids_to_split")
        leaving = list(dict.fromkeys(to_split))
    else:
        # posthog Person.split_person: keep main_distinct_id (default: the first one); every
        # other distinct id moves off. A main id the person lacks moves them all. A person left
        # with no distinct id (an earlier split moved them all) still gets the 201: the view
        # only queues the task, which then has nothing to move.
        keep = main if main is not None or not person.distinct_ids else person.distinct_ids[0]
        leaving = [d for d in person.distinct_ids if d != keep]
    state.schedule(state.property_update_delay, _split_task(state, person.uuid, leaving))
    return json_response(201, {"success": True})


def _split_task(state: EmulatorState, person_uuid: str, leaving: list[str]) -> Callable[[], None]:
    def apply() -> None:
        person = state.by_reference(person_uuid)
        if person is None:
            return
        for distinct_id in leaving:
            if distinct_id not in person.distinct_ids:
                continue
            person.distinct_ids.remove(distinct_id)
            del state.by_distinct_id[distinct_id]
            state.store(
                StoredPerson(
                    id=state.next_person_id(),
                    uuid=state.split_uuid(distinct_id, person.uuid),
                    distinct_ids=[distinct_id],
                    properties={},
                    created_at=state.now_dt(),
                )
            )

    return apply


def _delete_persons(
    state: EmulatorState,
    persons: list[StoredPerson],
    *,
    delete_events: bool,
    delete_recordings: bool,
    keep_person: bool,
) -> dict[str, Any]:
    """_bulk_delete_persons after resolution (posthog/models/person/bulk_delete.py).

    Profiles first (each one may fail: `deletion_errors`), then event deletion for every
    person found, failed ones included. Newer deployments queue the profile deletion
    instead: `persons_deleted` 0 and `persons_queued_for_deletion` N.
    """
    deleted = 0
    errors: list[dict[str, str]] = []
    if not keep_person:
        for person in persons:
            if person.uuid in state.undeletable:
                errors.append({"person_uuid": person.uuid})
            elif state.queued_deletion:
                state.queue_profile_deletion(person)
            else:
                state.remove(person)
                deleted += 1
    if delete_events:
        for person in persons:
            state.queue_event_deletion(person)
    summary: dict[str, Any] = {
        "persons_found": len(persons),
        "persons_deleted": deleted,
        "events_queued_for_deletion": delete_events and len(persons) > 0,
        "recordings_queued_for_deletion": delete_recordings and len(persons) > 0,
        "deletion_errors": errors,
    }
    if state.queued_deletion:
        queued = 0 if keep_person else len(persons) - len(errors)
        summary["persons_queued_for_deletion"] = queued
    return summary


def bulk_delete(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    data = body_fields(request)
    distinct_ids, ids = data.get("distinct_ids"), data.get("ids")
    if distinct_ids and ids:
        raise invalid("You must provide either distinct_ids or ids, not both")
    for field, values in (("distinct_ids", distinct_ids), ("ids", ids)):
        if values and not isinstance(values, list):
            # Upstream would iterate a string's characters; a client never means that.
            raise invalid("Expected a list of items.", field, code="not_a_list")
        if values and len(values) > BULK_DELETE_MAX:
            raise invalid(f"You can only pass {BULK_DELETE_MAX} {field} in one call")
    if not distinct_ids and not ids:
        raise invalid("You need to specify either distinct_ids or ids")
    found: dict[int, StoredPerson] = {}
    if ids:
        for value in ids:
            canonical = canonical_uuid(value) if isinstance(value, str) else None
            if canonical is None:
                # Django's UUIDField refuses the lookup value.
                raise invalid(f"'{value}' is not a valid UUID.", "ids")
            person = state.by_reference(canonical)
            if person is not None:
                found[person.id] = person
    else:
        for value in distinct_ids or []:
            person = state.by_distinct(str(value))
            if person is not None:
                found[person.id] = person
    summary = _delete_persons(
        state,
        list(found.values()),
        # `bool(request.data.get(...))`: any truthy JSON value counts.
        delete_events=bool(data.get("delete_events")),
        delete_recordings=bool(data.get("delete_recordings")),
        keep_person=bool(data.get("keep_person")),
    )
    return json_response(202, summary)


def destroy(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """Hidden from the schema, still served: the bulk path for one person, flags by presence
    (`"delete_events" in request.GET`, so `?delete_events=false` still deletes events)."""
    person = person_for(state, request)
    _delete_persons(
        state,
        [person],
        delete_events="delete_events" in request.query,
        delete_recordings="delete_recordings" in request.query,
        keep_person="keep_person" in request.query,
    )
    return empty(202)


def delete_events(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    state.queue_event_deletion(person_for(state, request))
    return empty(202)


def delete_recordings(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    person_for(state, request)
    return empty(202)


def _drf_page_bound(raw: str | None, default: int, *, strict: bool) -> int:
    """rest_framework.pagination._positive_int: junk, negatives (and 0 when strict) fall back."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return value


def _drf_link(request: EmulatorRequest, **replace: int | None) -> str:
    """rest_framework.utils.urls replace_query_param / remove_query_param (keys sorted)."""
    query = parse_qs(request.raw_query, keep_blank_values=True)
    for key, value in replace.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = [str(value)]
    encoded = urlencode(sorted(query.items()), doseq=True)
    return f"{request.base_url}{request.path}" + (f"?{encoded}" if encoded else "")


def deletion_status(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """DeletionStatusQueryParamsSerializer, then DRF LimitOffsetPagination (default 100, no
    maximum); a bad limit or offset falls back instead of failing."""
    status = request.arg("status") or "all"
    if status not in ("pending", "completed", "all"):
        raise invalid(f'"{status}" is not a valid choice.', "status", code="invalid_choice")
    raw_uuid = request.arg("person_uuid")
    wanted = canonical_uuid(raw_uuid) if raw_uuid is not None else None
    if raw_uuid is not None and wanted is None:
        raise invalid("Must be a valid UUID.", "person_uuid", code="invalid")
    limit = _drf_page_bound(request.arg("limit"), DELETION_STATUS_DEFAULT_LIMIT, strict=True)
    offset = _drf_page_bound(request.arg("offset"), 0, strict=False)
    rows = [state.deletion_api(r) for r in state.deletions_newest_first()]
    if wanted is not None:
        rows = [r for r in rows if r["person_uuid"] == wanted]
    if status != "all":
        rows = [r for r in rows if r["status"] == status]
    if offset <= 0:
        previous = None
    elif offset - limit <= 0:
        previous = _drf_link(request, limit=limit, offset=None)
    else:
        previous = _drf_link(request, limit=limit, offset=offset - limit)
    return json_response(
        200,
        {
            "count": len(rows),
            "next": (
                _drf_link(request, limit=limit, offset=offset + limit)
                if offset + limit < len(rows)
                else None
            ),
            "previous": previous,
            "results": rows[offset : offset + limit],
        },
    )


def reset_person_distinct_id(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    del state
    distinct_id = body_fields(request).get("distinct_id")
    if not distinct_id or not isinstance(distinct_id, str):
        raise invalid("distinct_id is required")
    return empty(202)


def create(state: EmulatorState, request: EmulatorRequest) -> EmulatorResponse:
    """PersonViewSet.create raises MethodNotAllowed with its own detail."""
    del state, request
    raise ApiError(
        drf_error(
            405,
            "invalid_request",
            "method_not_allowed",
            "Creating persons via this API is not allowed. Please create persons by sending an "
            "$identify event. See https://posthog.com/docs/product-analytics/identify for "
            "details.",
        )
    )
