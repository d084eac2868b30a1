"""The persons a run works on: a plan, its seeding (capture API or emulator), and cleanup.

Every seeded person carries `lc_run` (the run's id) and `lc_role` (what the scenarios use it
for), so a scenario only ever edits or deletes persons its own run seeded, and cleanup finds
leftovers of earlier runs without touching anything else. Distinct ids are new every run:
PostHog advises never to reuse the distinct id of a deleted person.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .guard import CAPTURE_PATH
from .settings import RefusedError

# role -> how many persons; what each role is for is in the scenarios that ask for it.
ROLES: dict[str, int] = {
    "reader": 3,
    "editor": 1,
    "splitter": 1,
    "reset": 1,
    "erasure": 2,
    "uuid_delete": 2,
    "async_delete": 1,
    "op_delete": 1,
}
RUN_PROPERTY = "lc_run"
ROLE_PROPERTY = "lc_role"
PLAN_FILE = "seed.json"


@dataclass(frozen=True)
class SeedPerson:
    role: str
    distinct_ids: list[str]
    properties: dict[str, Any]

    @property
    def distinct_id(self) -> str:
        return self.distinct_ids[0]


@dataclass(frozen=True)
class SeedPlan:
    run_id: str
    persons: list[SeedPerson] = field(default_factory=list)

    @classmethod
    def build(cls, run_id: str) -> SeedPlan:
        persons = []
        for role, count in ROLES.items():
            for n in range(count):
                primary = f"lc-{run_id}-{role}-{n}".replace("_", "-")
                distinct_ids = [primary]
                if role == "splitter":
                    # An anonymous (UUID-shaped, as the SDKs mint) id merged in by $identify.
                    distinct_ids.append(str(uuid.uuid5(uuid.NAMESPACE_URL, primary)))
                properties = {
                    "email": f"{primary}@example.com",
                    "name": f"{role.replace('_', ' ').title()} {n}",
                    "plan": "pro" if n % 2 == 0 else "free",
                    RUN_PROPERTY: run_id,
                    ROLE_PROPERTY: role,
                }
                persons.append(SeedPerson(role, distinct_ids, properties))
        return cls(run_id, persons)

    @classmethod
    def new_run(cls) -> SeedPlan:
        # Not all digits: a property value that looks like a number may be compared as one.
        return cls.build(datetime.now(UTC).strftime("%Y%m%dt%H%M%S"))

    def role(self, role: str) -> list[SeedPerson]:
        found = [p for p in self.persons if p.role == role]
        if not found:
            raise KeyError(f"no seeded person has role {role!r}")
        return found

    def run_filter(self, role: str | None = None) -> list[dict[str, Any]]:
        """The persons-list `properties` filter selecting this run's persons (of one role)."""
        wanted = {RUN_PROPERTY: self.run_id} | ({ROLE_PROPERTY: role} if role else {})
        return [
            {"key": key, "value": value, "operator": "exact", "type": "person"}
            for key, value in wanted.items()
        ]

    def save(self, directory: Path) -> Path:
        path = directory / PLAN_FILE
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> SeedPlan:
        data = json.loads((directory / PLAN_FILE).read_text(encoding="utf-8"))
        return cls(data["run_id"], [SeedPerson(**person) for person in data["persons"]])


# --------------------------------------------------------------------------- capture (live)


def capture_batch(plan: SeedPlan, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The body of `POST {capture_host}/batch/` that creates the plan's persons.

    One `$identify` event per person (https://posthog.com/docs/api/capture): `distinct_id` is
    the person's identified id, `properties.$set` its person properties, and
    `properties.$anon_distinct_id` an anonymous id merged into the same person (PostHog's
    ingestion merges the two on $identify). `$geoip_disable` keeps the runner's location out
    of the person properties, and so out of the cassettes.
    """
    stamp = (now or datetime.now(UTC)).isoformat()
    events = []
    for person in plan.persons:
        properties: dict[str, Any] = {"$set": person.properties, "$geoip_disable": True}
        if len(person.distinct_ids) > 1:
            properties["$anon_distinct_id"] = person.distinct_ids[1]
        events.append(
            {
                "event": "$identify",
                "distinct_id": person.distinct_id,
                "properties": properties,
                "timestamp": stamp,
                "uuid": str(uuid.uuid4()),
            }
        )
    return {"api_key": token, "batch": events}


def _lookup(client: httpx.Client, project_id: str, distinct_ids: list[str]) -> dict[str, Any]:
    answer = client.post(
        f"/api/projects/{project_id}/persons/batch_by_distinct_ids/",
        json={"distinct_ids": distinct_ids},
    )
    answer.raise_for_status()
    results = answer.json().get("results")
    return results if isinstance(results, dict) else {}


def _listed(client: httpx.Client, project_id: str, plan: SeedPlan) -> int:
    answer = client.get(
        f"/api/projects/{project_id}/persons/",
        params={"properties": json.dumps(plan.run_filter()), "limit": 100},
    )
    answer.raise_for_status()
    return len(answer.json().get("results") or [])


def seeded(client: httpx.Client, project_id: str, plan: SeedPlan) -> bool:
    """Whether every planned person is visible: looked up (Postgres) and listed (ClickHouse)."""
    found = _lookup(client, project_id, [d for p in plan.persons for d in p.distinct_ids])
    for person in plan.persons:
        record = found.get(person.distinct_id)
        if not isinstance(record, dict):
            return False
        if set(person.distinct_ids) - set(record.get("distinct_ids") or []):
            return False  # the $identify merge is not done yet
        if (record.get("properties") or {}).get(RUN_PROPERTY) != plan.run_id:
            return False
    return _listed(client, project_id, plan) >= len(plan.persons)


def seed_live(
    api: httpx.Client,
    capture: httpx.Client,
    project_id: str,
    plan: SeedPlan,
    token: str,
    *,
    timeout: float = 600.0,
    poll_interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Capture the plan's persons, then poll the persons API until all of them are visible."""
    answer = capture.post(CAPTURE_PATH, json=capture_batch(plan, token))
    if answer.status_code >= 300:
        raise RefusedError(f"capture refused the seed events: HTTP {answer.status_code}")
    deadline = clock() + timeout
    while not seeded(api, project_id, plan):
        if clock() >= deadline:
            raise RefusedError(
                f"the {len(plan.persons)} seeded persons of run {plan.run_id} were not all "
                f"visible after {timeout:.0f} s (ingestion lag?)"
            )
        sleep(poll_interval)


# --------------------------------------------------------------------------- the emulator


def emulator_records(plan: SeedPlan) -> list[dict[str, Any]]:
    """`FakePostHog(persons=...)` records for the plan, oldest first (the list shows newest)."""
    return [{"distinct_ids": p.distinct_ids, "properties": p.properties} for p in plan.persons]


def mirror_records(client: httpx.Client, project_id: str) -> list[dict[str, Any]]:
    """Every person of the (small, guarded) live project as emulator records.

    The list gives distinct ids, properties and timestamps; the UUID lookup gives the numeric
    id (list results carry the UUID in `id` since 2026). Runs before recording: not recorded.
    """
    base = f"/api/projects/{project_id}/persons/"
    listing = client.get(base, params={"limit": 100})
    listing.raise_for_status()
    listed = listing.json().get("results") or []
    uuids = [p["uuid"] for p in listed]
    numeric: dict[str, Any] = {}
    if uuids:
        answer = client.post(f"{base}batch_by_uuids/", json={"uuids": uuids})
        answer.raise_for_status()
        numeric = {k: v.get("id") for k, v in (answer.json().get("results") or {}).items()}
    records = []
    for person in reversed(listed):
        record = {
            key: person.get(key)
            for key in ("uuid", "distinct_ids", "properties", "created_at", "last_seen_at")
        }
        if isinstance(numeric.get(person["uuid"]), int):
            record["id"] = numeric[person["uuid"]]
        records.append(record)
    return records
