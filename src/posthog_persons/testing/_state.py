"""The emulator's data: persons, their indexes, the deletion queue, pending changes, the clock.

Nothing here knows about HTTP. Callers hold the emulator's lock around every use.
"""

from __future__ import annotations

import random
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ._data import (
    StoredPerson,
    format_datetime,
    generate_persons,
    identified_by_default,
    random_uuid,
)

# posthog/models/person/missing_person.py PERSON_UUIDV5_NAMESPACE: the namespace of the
# deterministic person UUIDs (uuidFromDistinctId, splitPersonUuid).
PERSON_UUIDV5_NAMESPACE = uuid_module.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")


def canonical_uuid(value: object) -> str | None:
    """The UUID's canonical text, or None when `value` is not a UUID."""
    try:
        return str(uuid_module.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        return None


def parse_timestamp(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@attrs.frozen
class DeletionRecord:
    """An event deletion queued for a person (posthog AsyncDeletion, one per person)."""

    person_uuid: str
    created_at: datetime
    sequence: int


@attrs.define
class _PendingChange:
    due: float
    apply: Callable[[], None]


class EmulatorState:
    """Persons and queues of one project; deterministic for a seed and a call order."""

    def __init__(
        self,
        *,
        seed: int,
        project_id: int,
        clock: Callable[[], float],
        deletion_delay: float,
        property_update_delay: float,
        queued_deletion: bool,
        queued_deletion_delay: float,
    ) -> None:
        self.project_id = project_id
        self.deletion_delay = deletion_delay
        self.property_update_delay = property_update_delay
        self.queued_deletion = queued_deletion
        self.queued_deletion_delay = queued_deletion_delay
        self._clock = clock
        self._offset = 0.0
        self.rng = random.Random(seed)
        self.persons: dict[int, StoredPerson] = {}
        self.by_uuid: dict[str, int] = {}
        self.by_distinct_id: dict[str, int] = {}
        self._ordered: list[StoredPerson] | None = None
        self._next_id = 1
        self._pending: list[_PendingChange] = []
        self._queued_profiles: dict[str, float] = {}
        self.deletions: dict[str, DeletionRecord] = {}
        self._deletion_sequence = 0
        self.undeletable: set[str] = set()

    # ----------------------------------------------------------------- time

    def now(self) -> float:
        return self._clock() + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    # ----------------------------------------------------------------- persons

    def generate(self, count: int) -> None:
        for person in generate_persons(count, self.rng, first_id=self._next_id):
            self.store(person)

    def new_uuid(self) -> str:
        return random_uuid(self.rng)

    def add_person(
        self,
        distinct_ids: Sequence[str] | None,
        properties: Mapping[str, Any] | None,
        *,
        id: int | None,
        uuid: str | None,
        created_at: datetime | str | None,
        last_seen_at: datetime | str | None,
        is_identified: bool | None,
    ) -> StoredPerson:
        person_id = id if id is not None else self._next_id
        if person_id in self.persons:
            raise ValueError(f"person id {person_id} exists")
        dids = list(distinct_ids) if distinct_ids else [self.new_uuid()]
        for distinct_id in dids:
            if distinct_id in self.by_distinct_id:
                raise ValueError(f"distinct id {distinct_id!r} belongs to another person")
        if uuid is None:
            person_uuid = self.new_uuid()
        else:
            canonical = canonical_uuid(uuid)
            if canonical is None:
                raise ValueError(f"not a person UUID: {uuid!r}")
            person_uuid = canonical
        if person_uuid in self.by_uuid:
            raise ValueError(f"uuid {person_uuid} exists")
        person = StoredPerson(
            id=person_id,
            uuid=person_uuid,
            distinct_ids=dids,
            properties=dict(properties or {}),
            created_at=_coerce_datetime(created_at) or self.now_dt(),
            last_seen_at=_coerce_datetime(last_seen_at),
            is_identified=(identified_by_default(dids) if is_identified is None else is_identified),
        )
        self.store(person)
        return person

    def store(self, person: StoredPerson) -> None:
        self.persons[person.id] = person
        self.by_uuid[person.uuid] = person.id
        for distinct_id in person.distinct_ids:
            self.by_distinct_id[distinct_id] = person.id
        self._next_id = max(self._next_id, person.id + 1)
        self._ordered = None

    def remove(self, person: StoredPerson) -> None:
        self.persons.pop(person.id, None)
        self.by_uuid.pop(person.uuid, None)
        self._queued_profiles.pop(person.uuid, None)
        for distinct_id in person.distinct_ids:
            if self.by_distinct_id.get(distinct_id) == person.id:
                del self.by_distinct_id[distinct_id]
        self._ordered = None

    def next_person_id(self) -> int:
        return self._next_id

    def in_list_order(self) -> list[StoredPerson]:
        """The persons list's order: posthog/api/person.py list orders the ActorsQuery by
        `created_at DESC, id DESC`, and HogQL's persons `id` is the person UUID."""
        if self._ordered is None:
            self._ordered = sorted(
                self.persons.values(),
                key=lambda p: (p.created_at, uuid_module.UUID(p.uuid).int),
                reverse=True,
            )
        return self._ordered

    def by_reference(self, ref: str) -> StoredPerson | None:
        """A person by numeric id or UUID (posthog get_person_by_pk_or_uuid)."""
        if ref.isdigit():
            return self.persons.get(int(ref))
        canonical = canonical_uuid(ref)
        if canonical is None:
            return None
        pid = self.by_uuid.get(canonical)
        return self.persons.get(pid) if pid is not None else None

    def by_distinct(self, distinct_id: str) -> StoredPerson | None:
        pid = self.by_distinct_id.get(distinct_id)
        return self.persons.get(pid) if pid is not None else None

    def split_uuid(self, distinct_id: str, original_uuid: str) -> str:
        """posthog/models/person/missing_person.py uuidFromDistinctId, or splitPersonUuid when
        that is the UUID of the person the distinct id is split off."""
        seeded = uuid_module.uuid5(PERSON_UUIDV5_NAMESPACE, f"{self.project_id}:{distinct_id}")
        if str(seeded) != original_uuid:
            return str(seeded)
        return str(
            uuid_module.uuid5(PERSON_UUIDV5_NAMESPACE, f"{self.project_id}:{distinct_id}:split")
        )

    # ----------------------------------------------------------------- asynchrony

    def schedule(self, delay: float, apply: Callable[[], None]) -> None:
        self._pending.append(_PendingChange(self.now() + delay, apply))

    def apply_due(self) -> None:
        if not self._pending:
            return
        now = self.now()
        due = [c for c in self._pending if c.due <= now]
        if not due:
            return
        self._pending = [c for c in self._pending if c.due > now]
        for change in due:
            change.apply()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def queue_profile_deletion(self, person: StoredPerson) -> None:
        """Newer deployments delete the profile in a background task a little later."""
        if person.uuid in self._queued_profiles:
            return
        due = self.now() + self.queued_deletion_delay
        self._queued_profiles[person.uuid] = due

        def apply() -> None:
            pid = self.by_uuid.get(person.uuid)
            if pid is not None and self._queued_profiles.get(person.uuid) == due:
                self.remove(self.persons[pid])

        self.schedule(self.queued_deletion_delay, apply)

    @property
    def queued_profiles(self) -> frozenset[str]:
        return frozenset(self._queued_profiles)

    # ----------------------------------------------------------------- event deletions

    def queue_event_deletion(self, person: StoredPerson) -> None:
        """posthog/models/person/bulk_delete.py queue_person_event_deletion: one AsyncDeletion
        per person, `ignore_conflicts` on its unique (team, type, key)."""
        if person.uuid in self.deletions:
            return
        self._deletion_sequence += 1
        self.deletions[person.uuid] = DeletionRecord(
            person.uuid, self.now_dt(), self._deletion_sequence
        )

    def deletions_newest_first(self) -> list[DeletionRecord]:
        return sorted(
            self.deletions.values(), key=lambda r: (r.created_at, r.sequence), reverse=True
        )

    def deletion_api(self, record: DeletionRecord) -> dict[str, Any]:
        """posthog/api/person.py AsyncDeletionStatusSerializer."""
        verified = record.created_at + timedelta(seconds=self.deletion_delay)
        done = self.now_dt() >= verified
        return {
            "person_uuid": record.person_uuid,
            "created_at": format_datetime(record.created_at),
            "status": "completed" if done else "pending",
            "delete_verified_at": format_datetime(verified) if done else None,
        }

    # ----------------------------------------------------------------- failures

    def make_undeletable(self, person_uuids: Iterable[object]) -> None:
        canonical: list[str] = []
        for value in person_uuids:
            text = canonical_uuid(value)
            if text is None:
                raise ValueError(f"not a person UUID: {value!r}")
            canonical.append(text)
        self.undeletable.update(canonical)

    def make_deletable(self, person_uuids: Iterable[object]) -> None:
        for value in person_uuids:
            text = canonical_uuid(value)
            if text is not None:
                self.undeletable.discard(text)


def _coerce_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError(f"not an ISO 8601 datetime: {value!r}")
    return parsed
