"""The persons routes the 2026 server serves, and what each operation requires.

Source: posthog/api/person.py PersonViewSet (its actions, `required_scopes`, `exclude=True`
schema hiding) and posthog/permissions.py APIScopePermission. Operations are named by their
upstream operation id in the 2026 schema; the ones the schema hides keep the id they had in
the 2025-11 schema; legacy actions that never had a stable id go by their action name.
"""

from __future__ import annotations

import re

import attrs

# posthog/api/person.py get_throttles: these actions get the delete throttles.
DELETE_ACTIONS = frozenset({"destroy", "bulk_delete", "delete_events", "delete_recordings"})
_ACCEPTED = frozenset(
    {
        "update",
        "partial_update",
        "update_property",
        "reset_person_distinct_id",
        *DELETE_ACTIONS,
    }
)
_CREATED = frozenset({"split", "delete_property"})
# DRF's router makes the trailing slash optional here, and its default lookup
# (SimpleRouter.get_lookup_regex, `[^/.]+`) refuses dots in a person id.
_PERSON = r"(?P<id>[^/.]+)"
_PREFIX = re.compile(
    r"^/api/(?P<scope>projects|environments)/(?P<project>[^/]+)/persons/(?P<rest>.*)$"
)


@attrs.frozen
class Operation:
    """One action of the persons viewset."""

    operation_id: str
    action: str
    # The scopes a personal API key needs; None: the action declares none, and
    # APIScopePermission refuses every scoped key ("does not support Personal API Key access").
    scopes: tuple[str, ...] | None
    # The path below /persons/, as the schema writes it.
    template: str
    # Errors this action builds itself as {"error": ...} instead of DRF's body.
    plain_errors: bool = False
    # The status of its normal answer (what an `override` without `status` answers).
    success_status: int = 200

    @property
    def throttle_bucket(self) -> str:
        return "delete" if self.action in DELETE_ACTIONS else "burst"


@attrs.frozen
class Route:
    pattern: re.Pattern[str]
    detail: bool
    methods: dict[str, Operation]


def _route(suffix: str, **methods: tuple[str, str, tuple[str, ...] | None]) -> Route:
    template = suffix.replace(_PERSON, "{id}") + ("/" if suffix else "")
    operations: dict[str, Operation] = {}
    for method, (operation_id, action, scopes) in methods.items():
        operations[method.upper()] = Operation(
            operation_id,
            action,
            scopes,
            template,
            plain_errors=action == "properties_at_time",
            success_status=202 if action in _ACCEPTED else 201 if action in _CREATED else 200,
        )
    return Route(re.compile(f"^{suffix}/?$"), _PERSON in suffix, operations)


READ = ("person:read",)
WRITE = ("person:write",)
ACTIVITY = ("activity_log:read",)
NO_SCOPE = None

# Order matters as in Django's URL resolver: the list-level actions come before the detail
# route, so `persons/values/` is the values action, never a person called "values".
ROUTES: tuple[Route, ...] = (
    _route(
        "",
        get=("persons_list", "list", READ),
        # ModelViewSet.create, overridden to refuse: a write action for the scope check.
        post=("create", "create", WRITE),
    ),
    _route("activity", get=("persons_all_activity_retrieve", "all_activity", ACTIVITY)),
    _route(
        "batch_by_distinct_ids",
        post=("persons_batch_by_distinct_ids_create", "batch_by_distinct_ids", READ),
    ),
    _route("batch_by_uuids", post=("persons_batch_by_uuids_create", "batch_by_uuids", READ)),
    _route("bulk_delete", post=("persons_bulk_delete_create", "bulk_delete", WRITE)),
    _route("cohorts", get=("persons_cohorts_retrieve", "cohorts", ("person:read", "cohort:read"))),
    _route("deletion_status", get=("persons_deletion_status_list", "deletion_status", READ)),
    # Legacy insight actors: still routed, but they declare no scope.
    _route("funnel", get=("funnel", "funnel", NO_SCOPE), post=("funnel", "funnel", NO_SCOPE)),
    _route("lifecycle", get=("lifecycle", "lifecycle", NO_SCOPE)),
    _route(
        "properties_at_time",
        get=("persons_properties_at_time_retrieve", "properties_at_time", READ),
    ),
    _route(
        "reset_person_distinct_id",
        post=("persons_reset_person_distinct_id_create", "reset_person_distinct_id", WRITE),
    ),
    _route("trends", get=("trends", "trends", NO_SCOPE)),
    _route("values", get=("persons_values_retrieve", "values", READ)),
    # No `stickiness` or `funnel/correlation` action any more: `stickiness/` is a retrieve of
    # a person called "stickiness" (400), `funnel/correlation/` matches no route (404).
    _route(
        _PERSON,
        get=("persons_retrieve", "retrieve", READ),
        put=("persons_update", "update", WRITE),
        patch=("persons_partial_update", "partial_update", WRITE),
        # Hidden from the schema (exclude=True) but still served.
        delete=("persons_destroy", "destroy", WRITE),
    ),
    _route(f"{_PERSON}/activity", get=("persons_activity_retrieve", "activity", ACTIVITY)),
    _route(
        f"{_PERSON}/delete_events",
        post=("persons_delete_events_create", "delete_events", WRITE),
    ),
    _route(
        f"{_PERSON}/delete_property",
        post=("persons_delete_property_create", "delete_property", WRITE),
    ),
    _route(
        f"{_PERSON}/delete_recordings",
        post=("persons_delete_recordings_create", "delete_recordings", WRITE),
    ),
    _route(f"{_PERSON}/emails", get=("persons_emails_list", "emails", READ)),
    _route(
        f"{_PERSON}/properties_timeline",
        get=("persons_properties_timeline_retrieve", "properties_timeline", NO_SCOPE),
    ),
    _route(
        f"{_PERSON}/push_notifications",
        get=("persons_push_notifications_list", "push_notifications", READ),
    ),
    _route(f"{_PERSON}/split", post=("persons_split_create", "split", WRITE)),
    _route(
        f"{_PERSON}/update_property",
        post=("persons_update_property_create", "update_property", WRITE),
    ),
)

OPERATIONS: dict[str, Operation] = {
    op.operation_id: op for route in ROUTES for op in route.methods.values()
}


@attrs.frozen
class Resolved:
    """A path the persons router matched."""

    route: Route
    scope: str
    project: str
    person_ref: str | None

    def operation(self, method: str) -> Operation | None:
        # ViewSetMixin.as_view maps HEAD to the GET action.
        return self.route.methods.get("GET" if method == "HEAD" else method)

    @property
    def view_name(self) -> str:
        """DRF's get_view_name: "Person List"/"Person Instance", or the action's pretty name."""
        names = {"list": "Person List", "retrieve": "Person Instance"}
        action = next(iter(self.route.methods.values())).action
        return names.get(action, action.replace("_", " ").capitalize())

    @property
    def allowed_methods(self) -> str:
        """DRF's `Allow` header (APIView.allowed_methods, in http_method_names' order)."""
        mapped = set(self.route.methods) | {"OPTIONS"}
        if "GET" in mapped:
            mapped.add("HEAD")
        order = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
        return ", ".join(m for m in order if m in mapped)


def resolve(path: str) -> Resolved | None:
    """Which route serves `path` (None: Django's resolver finds nothing, a 404)."""
    prefix = _PREFIX.match(path)
    if prefix is None:
        return None
    for route in ROUTES:
        found = route.pattern.match(prefix["rest"])
        if found:
            return Resolved(route, prefix["scope"], prefix["project"], found.groupdict().get("id"))
    return None


def scopes_without_action(method: str, detail: bool) -> tuple[str, ...] | None:
    """Scopes for a method the route does not map (DRF leaves `view.action` None).

    posthog/permissions.py ScopeBasePermission: `_get_action` calls a list-level PATCH
    "patch", a write action; OPTIONS needs the read scope; anything else has no scope, so
    scoped keys are refused before the 405.
    """
    if method == "PATCH" and not detail:
        return WRITE
    if method == "OPTIONS":
        return READ
    return None


def projects_path(template: str) -> str:
    """The schema path an operation is validated against: always the projects scope."""
    return f"/api/projects/{{project_id}}/persons/{template}"
