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

# The server's display-name lookup order (PERSON_DEFAULT_DISPLAY_NAME_PROPERTIES).
_NAME_PROPERTIES = ("email", "Email", "name", "Name", "username", "Username", "UserName")

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


@attrs.define
class StoredPerson:
    """One person as the emulator stores it (the API shape is produced by `to_api`)."""

    id: int
    uuid: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime | None = None

    @property
    def name(self) -> str | None:
        for key in _NAME_PROPERTIES:
            value = self.properties.get(key)
            if value:
                return str(value)
        return self.distinct_ids[0] if self.distinct_ids else None

    def to_api(self, *, max_distinct_ids: int | None = None) -> dict[str, Any]:
        distinct_ids = sort_distinct_ids(self.distinct_ids)
        if max_distinct_ids is not None:
            distinct_ids = distinct_ids[:max_distinct_ids]
        return {
            "id": self.id,
            "name": self.name,
            "distinct_ids": distinct_ids,
            "properties": dict(self.properties),
            "created_at": format_datetime(self.created_at),
            "uuid": self.uuid,
            "last_seen_at": (
                format_datetime(self.last_seen_at) if self.last_seen_at is not None else None
            ),
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
            )
        )
    return persons
