"""The emulator's person model and its deterministic generator of realistic persons."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

# Same heuristic as the server: UUID-shaped distinct ids are the anonymous ones the SDKs mint,
# and the API lists them after the identified ones.
_ANONYMOUS_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

# The server's display-name lookup order: posthog/api/person.py
# PERSON_DEFAULT_DISPLAY_NAME_PROPERTIES (2026: email, name, username).
_NAME_PROPERTIES = ("email", "name", "username")
# posthog/api/person.py MinimalPersonSerializer.get_distinct_ids: the batch lookups' records.
MINIMAL_DISTINCT_IDS = 10
# posthog/queries/actor_base_query.py get_serialized_people: distinct_id_limit=1000.
ACTOR_DISTINCT_IDS = 1000

# A fixed epoch, not "now": generated data must be identical on every run for a given seed.
GENERATION_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

_FIRST = [
    "ada",
    "alan",
    "grace",
    "linus",
    "barbara",
    "ken",
    "dennis",
    "margaret",
    "edsger",
    "donald",
    "john",
    "radia",
    "frances",
    "tim",
    "sophie",
    "hedy",
    "katherine",
    "guido",
    "bjarne",
    "anita",
    "yukihiro",
    "rasmus",
    "brendan",
    "james",
    "carol",
    "lynn",
]
_LAST = [
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "liskov",
    "thompson",
    "ritchie",
    "hamilton",
    "dijkstra",
    "knuth",
    "backus",
    "perlman",
    "allen",
    "lee",
    "wilson",
    "lamarr",
    "johnson",
    "rossum",
    "stroustrup",
    "borg",
    "matsumoto",
    "lerdorf",
    "eich",
    "gosling",
    "shaw",
    "conway",
]
_DOMAINS = ("example.com", "example.org", "acme.test", "initech.test", "globex.test")
_PLANS = ("free", "free", "free", "pro", "pro", "enterprise")
_COUNTRIES = ("US", "GB", "DE", "FR", "BR", "IN", "JP", "CA", "AU", "NL")
_BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
_OSES = ("Mac OS X", "Windows", "Linux", "iOS", "Android")


def is_anonymous_id(distinct_id: str) -> bool:
    return bool(_ANONYMOUS_ID.match(distinct_id))


def sort_distinct_ids(distinct_ids: list[str]) -> list[str]:
    # Stable sort: identified ids keep their insertion order, anonymous ones go last.
    return sorted(distinct_ids, key=is_anonymous_id)


def format_datetime(value: datetime) -> str:
    """Render a datetime the way Django REST framework does (ISO 8601, `Z` for UTC)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def identified_by_default(distinct_ids: list[str]) -> bool:
    """Whether a person looks identified: it has a distinct id an SDK would not mint."""
    return any(not is_anonymous_id(d) for d in distinct_ids)


@attrs.define
class StoredPerson:
    """One person as the emulator stores it; `to_api`, `to_minimal`, `to_actor` are its shapes.

    `distinct_ids` is in insertion order (the order the server's rows come back in).
    """

    id: int
    uuid: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime | None = None
    is_identified: bool = False

    @property
    def name(self) -> str:
        """posthog/api/person.py get_person_name_helper: a display property, else the first
        non-anonymous distinct id, else the numeric id as a string."""
        for key in _NAME_PROPERTIES:
            value = self.properties.get(key)
            if value:
                return str(value)
        if self.distinct_ids:
            return sort_distinct_ids(self.distinct_ids)[0]
        return str(self.id)

    def _last_seen(self) -> str | None:
        return format_datetime(self.last_seen_at) if self.last_seen_at is not None else None

    def to_api(self) -> dict[str, Any]:
        """The serializer record of retrieve (posthog/api/person.py PersonSerializer)."""
        return self._record(sort_distinct_ids(self.distinct_ids))

    def to_minimal(self) -> dict[str, Any]:
        """The batch lookups' record (posthog/api/person.py MinimalPersonSerializer): the first
        ten distinct ids, then sorted anonymous-last by PersonSerializer.to_representation."""
        return self._record(sort_distinct_ids(self.distinct_ids[:MINIMAL_DISTINCT_IDS]))

    def _record(self, distinct_ids: list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "distinct_ids": distinct_ids,
            "properties": dict(self.properties),
            "created_at": format_datetime(self.created_at),
            "uuid": self.uuid,
            "last_seen_at": self._last_seen(),
        }

    def to_actor(self) -> dict[str, Any]:
        """A list result: posthog/queries/actor_base_query.py get_serialized_people builds a
        SerializedPerson whose `id` is the UUID, with the distinct ids as stored (not sorted)."""
        return {
            "type": "person",
            "id": self.uuid,
            "uuid": self.uuid,
            "created_at": format_datetime(self.created_at),
            "last_seen_at": self._last_seen(),
            "properties": dict(self.properties),
            "is_identified": self.is_identified,
            "name": self.name,
            "distinct_ids": self.distinct_ids[:ACTOR_DISTINCT_IDS],
            "matched_recordings": [],
            "value_at_data_point": None,
        }


def generate_persons(count: int, rng: random.Random, first_id: int = 1) -> list[StoredPerson]:
    """Make `count` realistic persons; the same rng state always yields the same persons."""
    persons: list[StoredPerson] = []
    moment = GENERATION_EPOCH
    # About two years of sign-ups whatever the count, so date filters and "recent" pages
    # look like a real project's.
    step = max(60, (2 * 365 * 86400) // max(count, 1))
    for index in range(count):
        person_id = first_id + index
        # Every tenth person shares the previous one's created_at, so the id tie-break of the
        # list ordering is exercised by any realistic page walk.
        if index % 10 != 9:
            moment = moment + timedelta(seconds=rng.randint(step // 2, step * 3 // 2))
        distinct_ids: list[str] = []
        properties: dict[str, Any] = {
            "$browser": rng.choice(_BROWSERS),
            "$os": rng.choice(_OSES),
            "$geoip_country_code": rng.choice(_COUNTRIES),
        }
        if rng.random() < 0.75:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = f"{first}.{last}{person_id}@{rng.choice(_DOMAINS)}"
            properties.update(
                {
                    "email": email,
                    "name": f"{first.title()} {last.title()}",
                    "plan": rng.choice(_PLANS),
                    "logins": rng.randint(0, 500),
                }
            )
            if rng.random() < 0.3:
                properties["is_beta"] = rng.random() < 0.5
            distinct_ids.append(email if rng.random() < 0.5 else f"user-{person_id:07d}")
            extra = rng.randint(0, 2)
        else:
            extra = rng.randint(1, 2)
        distinct_ids.extend(random_uuid(rng) for _ in range(extra))
        last_seen = (
            moment + timedelta(seconds=rng.randint(0, 30 * 86400)) if rng.random() < 0.8 else None
        )
        persons.append(
            StoredPerson(
                id=person_id,
                uuid=random_uuid(rng),
                distinct_ids=distinct_ids,
                properties=properties,
                created_at=moment,
                last_seen_at=last_seen,
                is_identified=identified_by_default(distinct_ids),
            )
        )
    return persons
