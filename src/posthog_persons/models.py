"""The facade's small, frozen result types.

Each keeps the fields the server sends that it does not know in `extra`, so a newer server's
additions are never lost; the readers in posthog_persons._convert build them defensively.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._values import datetime_or_none, extra_fields

__all__ = [
    "BulkDeleteBatch",
    "BulkDeleteBatchResult",
    "BulkDeleteProgress",
    "BulkDeleteResult",
    "DeletionStatus",
    "DeletionWaitResult",
    "Person",
]


#: The fields of a person record that Person has attributes for; the others go to `extra`.
_PERSON_FIELDS = frozenset(
    {"id", "uuid", "name", "distinct_ids", "properties", "created_at", "last_seen_at"}
)


#: The Person fields read from the record on first access (then kept): iter_persons builds
#: a Person per row, and these are the costly ones (two datetime parses and a dict; every
#: 2026 list row has extra fields), so a caller who never reads them never pays for them.
_READ_ON_FIRST_ACCESS: Mapping[str, Callable[[dict[str, Any]], Any]] = {
    "created_at": lambda record: datetime_or_none(record.get("created_at")),
    "last_seen_at": lambda record: datetime_or_none(record.get("last_seen_at")),
    "extra": lambda record: extra_fields(record, _PERSON_FIELDS),
}


class _FromRecord:
    """The record a Person was built from (`person_from_record`), for its lazy fields.

    A Person built that way leaves the slots of `_READ_ON_FIRST_ACCESS` unset: reading one
    fails the slot lookup and lands in `__getattr__`, which reads the record and fills the slot,
    so later reads are plain slot reads. attrs' eq, repr, hash, pickling, `attrs.evolve` and
    `attrs.asdict` all read fields by attribute, so they see the same values as for a Person
    built by `Person(...)`.
    """

    __slots__ = ("_record",)

    if not TYPE_CHECKING:  # to mypy, Person has its declared attributes and no others

        def __getattr__(self, name: str) -> Any:
            read = _READ_ON_FIRST_ACCESS.get(name)
            if read is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = read(self._record)
            object.__setattr__(self, name, value)
            return value


@attrs.frozen(kw_only=True)
class Person(_FromRecord):
    """A person; `uuid` is the identifier to keep (bulk_delete(ids=...) takes it).

    `id` is the numeric id when the server sends one (get_person, the batch lookups) and None
    otherwise: the 2026 server's list results are "actors" whose `id` is the UUID string
    (posthog/api/person.py, PersonViewSet.list via actor_base_query.get_serialized_people),
    so iter_persons gives `id=None` rather than a field whose type depends on the call; the
    actors' extra fields (`type`, `is_identified`, `matched_recordings`, ...) are in `extra`.
    `name` and `created_at` are None for a "missing person" placeholder. The batch lookups
    return a minimal record (at most 10 distinct ids).
    """

    id: int | None = None
    uuid: str
    name: str | None = None
    distinct_ids: tuple[str, ...] = ()
    properties: Mapping[str, Any] = attrs.field(factory=dict)
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)


_blank_person = object.__new__
# The slots' own setters: attrs' frozen __setattr__ refuses, and these skip the name lookup
# of object.__setattr__ (about a quarter of the build's cost).
_set_record = _FromRecord.__dict__["_record"].__set__
_set_id, _set_uuid, _set_name, _set_distinct_ids, _set_properties = (
    Person.__dict__[name].__set__ for name in ("id", "uuid", "name", "distinct_ids", "properties")
)


def person_from_record(record: dict[str, Any]) -> Person | None:
    """The Person a person record describes (read as posthog_persons._convert reads), or None
    when it has no `uuid` (the caller raises: a malformed record fails at once, not later).

    The hot path of iter_persons: it skips attrs' `__init__` and leaves the
    `_READ_ON_FIRST_ACCESS` fields to be read from `record` when first used; a 2026 list row
    is built in about a quarter of the time `Person(...)` with every field read takes.
    """
    uuid = record.get("uuid")
    if not (isinstance(uuid, str) and uuid):
        return None
    person_id, name = record.get("id"), record.get("name")
    distinct_ids, properties = record.get("distinct_ids"), record.get("properties")
    built: Person = _blank_person(Person)
    _set_record(built, record)
    _set_uuid(built, uuid)
    _set_id(built, person_id if type(person_id) is int else None)
    _set_name(built, name if type(name) is str else None)
    _set_distinct_ids(built, tuple(distinct_ids) if type(distinct_ids) is list else ())
    _set_properties(built, properties if type(properties) is dict else {})
    return built


@attrs.frozen(kw_only=True)
class DeletionStatus:
    """The status of one queued event deletion (from `bulk_delete(..., delete_events=True)`)."""

    person_uuid: str
    status: str  # "pending" | "completed" (kept as sent if a newer server adds a value)
    created_at: datetime | None = None
    delete_verified_at: datetime | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class BulkDeleteBatch:
    """A bulk delete batch about to be sent: what `before_batch` is called with.

    - `number`: 1, 2, ... within this bulk_delete call;
    - `field`: "ids" (person UUIDs) or "distinct_ids": the request body's field;
    - `ids`: exactly the ids the request will carry, in order;
    - `person_uuids`: with delete_events/delete_recordings, the UUIDs of the persons the
      batch lookup found (by distinct id or by UUID; ids matching no person left out); None
      when nothing was looked up.
    """

    number: int
    field: Literal["ids", "distinct_ids"]
    ids: tuple[str, ...]
    person_uuids: tuple[str, ...] | None


@attrs.frozen(kw_only=True)
class BulkDeleteBatchResult:
    """What the server confirmed for one batch (in BulkDeleteProgress.batch).

    `persons_queued` counts persons whose profile deletion the server queued for later
    (`persons_queued_for_deletion` of newer deployments): accepted, not failed.
    `deletion_errors`: UUIDs the server could not delete. `person_uuids`: the UUIDs of this
    batch whose queued deletions can be tracked (see BulkDeleteResult.person_uuids).
    """

    number: int
    ids_sent: int
    persons_found: int
    persons_deleted: int
    persons_queued: int
    deletion_errors: tuple[str, ...]
    person_uuids: tuple[str, ...]
    events_queued_for_deletion: bool
    recordings_queued_for_deletion: bool


@attrs.frozen
class BulkDeleteProgress:
    """Passed to `on_progress` after every confirmed batch: running totals, and `batch`, what
    the server confirmed for the batch just done."""

    batches_done: int
    ids_sent: int
    persons_found: int
    persons_deleted: int
    errors: int
    persons_queued: int = 0
    batch: BulkDeleteBatchResult | None = None


@attrs.frozen
class BulkDeleteResult:
    """The summary of a bulk delete, over all its batches.

    - `requested`: unique ids sent; `batches`: bulk_delete calls made.
    - `persons_deleted`: deleted at once; `persons_queued`: accepted for a deletion the server
      runs a little later (`persons_queued_for_deletion`, 0 from servers that delete at once).
      Neither is a failure; `wait_for_deletions` tells when the queued ones are gone.
    - `errors`: UUIDs of persons the server could not delete (`deletion_errors`).
    - `person_uuids`: UUIDs whose deletions were queued, to track with `deletion_status` /
      `wait_for_deletions`: with `delete_events`/`delete_recordings`, the persons the batch
      lookups found (by distinct id or UUID) minus `errors`; otherwise, for `ids=`, the ids
      sent minus `errors`, and for `distinct_ids=`, empty.
    - `extra`: fields of the server's summary this client does not know, merged over batches
      (numbers summed, booleans or-ed, anything else: the last value).
    """

    requested: int = 0
    persons_found: int = 0
    persons_deleted: int = 0
    batches: int = 0
    errors: tuple[str, ...] = ()
    person_uuids: tuple[str, ...] = ()
    events_queued_for_deletion: bool = False
    recordings_queued_for_deletion: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    persons_queued: int = 0


@attrs.frozen
class DeletionWaitResult:
    """What `wait_for_deletions` saw; `done` is True when every awaited person is erased.

    Each UUID is in exactly one group, in input order:
    - `completed`: erased: its event deletion is completed (when awaited) and the person no
      longer exists (when awaited: not with keep_person);
    - `pending`: its event deletion is still pending;
    - `unknown`: the server has no event deletion record for it (a UUID that matched no person,
      another project, lost records): never counted as completed;
    - `still_existing`: its event deletion is through (or not awaited) but the batch lookup
      still finds the person (a deployment that deletes profiles later, or a deletion error).
    """

    completed: tuple[str, ...]
    pending: tuple[str, ...]
    done: bool
    unknown: tuple[str, ...] = ()
    still_existing: tuple[str, ...] = ()
