"""One run of the check: guard, seed, record both sides, compare, clean up."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from posthog_persons import PersonsClient
from posthog_persons.testing import FakePostHog

from . import report
from .compare import Divergence, compare
from .guard import AsyncGuardTransport, GuardTransport, Perimeter, check_project
from .recording import PLACEHOLDER_HOST, PLACEHOLDER_PROJECT, Scrubber, record
from .scenarios import Scenario, Target
from .scenarios.errors import ERRORS, READ_BUDGET_PER_MINUTE
from .scenarios.operations import OPERATIONS
from .scenarios.workflows import DELETIONS, READS
from .seeding import RUN_PROPERTY, SeedPlan, emulator_records, mirror_records, seed_live
from .settings import Settings

# In run order: the live project is one state, shared by every scenario.
SCENARIOS: list[Scenario] = [*READS, *OPERATIONS, *DELETIONS, *ERRORS]
# Event deletions run in PostHog's off-peak batches, days later: within a run they stay
# pending on the server (../shared/posthog-persons-api.md, "Bulk delete"), so on the emulator.
EVENT_DELETION_DELAY = 7 * 24 * 3600.0
SERVER = "server"
EMULATOR = "emulator"


def server_like_emulator(
    persons: Sequence[dict[str, Any]],
    *,
    host: str = PLACEHOLDER_HOST,
    project_id: int = int(PLACEHOLDER_PROJECT),
    **options: Any,
) -> FakePostHog:
    """The emulator as the check compares it: the server's read throttle, slow deletions, and
    a key with every scope, as the live check's key must be (README, "Tests")."""
    return FakePostHog(
        persons=persons,
        host=host,
        project_id=project_id,
        scopes=("*",),
        rate_limit_per_minute=READ_BUDGET_PER_MINUTE,
        deletion_delay=EVENT_DELETION_DELAY,
        **options,
    )


def emulator_target(fake: FakePostHog, name: str = EMULATOR) -> Target:
    # vcrpy records httpx's own transport classes: the emulator's handlers go in MockTransports.
    return Target(
        name=name,
        host=fake.host,
        project_id=str(fake.project_id),
        api_key=fake.api_key,
        transport=httpx.MockTransport(fake.transport().handle_request),
        async_transport=httpx.MockTransport(fake.async_transport().handle_async_request),
        wait=fake.advance,
    )


@dataclass
class Live:
    """How the run reaches PostHog; tests hand in transports and a clock instead."""

    settings: Settings
    transport: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)
    async_transport: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    @property
    def perimeter(self) -> Perimeter:
        return Perimeter.of(self.settings)

    def guarded(self) -> GuardTransport:
        return GuardTransport(self.perimeter, self.transport)

    def target(self) -> Target:
        return Target(
            name=SERVER,
            host=self.settings.host,
            project_id=self.settings.project_id,
            api_key=self.settings.api_key,
            transport=self.guarded(),
            async_transport=AsyncGuardTransport(self.perimeter, self.async_transport),
            wait=self.sleep,
        )

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.settings.host,
            transport=self.guarded(),
            headers={"Authorization": f"Bearer {self.settings.api_key}"},
            timeout=30.0,
        )

    def capture(self) -> httpx.Client:
        return httpx.Client(base_url=self.settings.capture_host, transport=self.guarded())

    def persons(self) -> PersonsClient:
        # Paced and retried as any user's client: cleanup may follow the throttle scenario.
        return PersonsClient(
            self.settings.api_key,
            project_id=self.settings.project_id,
            host=self.settings.host,
            transport=self.guarded(),
            clock=self.clock,
            sleep=self.sleep,
        )


def remove_seeded(client: PersonsClient, plan: SeedPlan | None = None) -> None:
    """Delete the persons runs of the check seeded, and only those.

    They carry RUN_PROPERTY; the persons a split made of this run's persons do not (the server
    creates them without properties), so they go by the plan's distinct ids.
    """
    ours = [{"key": RUN_PROPERTY, "operator": "is_set", "type": "person", "value": "is_set"}]
    uuids = [person.uuid for person in client.iter_persons(properties=ours)]
    if uuids:
        client.bulk_delete(ids=uuids, delete_events=True)
    if plan is not None:
        distinct_ids = [d for person in plan.persons for d in person.distinct_ids]
        client.bulk_delete(distinct_ids=distinct_ids, delete_events=True)


@dataclass(frozen=True)
class Outcome:
    divergences: list[Divergence]
    report: Path
    about: dict[str, Any]


def run_live(
    live: Live,
    out: Path,
    *,
    plan: SeedPlan | None = None,
    scenarios: Sequence[Scenario] = SCENARIOS,
    emulator: Callable[[list[dict[str, Any]]], FakePostHog] = server_like_emulator,
    seed_timeout: float = 600.0,
) -> Outcome:
    """The whole check. Raises RefusedError (before any write) when it must not run."""
    plan = plan or SeedPlan.new_run()
    with live.api() as api:
        token = check_project(api, live.settings)
        with live.persons() as client:
            remove_seeded(client)  # what an interrupted earlier run left
        try:
            with live.capture() as capture:
                seed_live(
                    api,
                    capture,
                    live.settings.project_id,
                    plan,
                    token,
                    timeout=seed_timeout,
                    sleep=live.sleep,
                    clock=live.clock,
                )
            mirror = mirror_records(api, live.settings.project_id)
            scrubber = Scrubber(live.settings.host, live.settings.project_id)
            server_outcomes = record(scenarios, live.target(), plan, out / SERVER, scrubber)
        finally:
            with live.persons() as client:
                remove_seeded(client, plan)
        live.transport.close()
    emulator_outcomes = record(scenarios, emulator_target(emulator(mirror)), plan, out / EMULATOR)
    divergences = compare(out / SERVER, out / EMULATOR)
    about = {
        "server": live.settings.host,
        "run": plan.run_id,
        "scenarios": len(scenarios),
        "failed on the server": sum(v != "ok" for v in server_outcomes.values()),
        "failed on the emulator": sum(v != "ok" for v in emulator_outcomes.values()),
    }
    return Outcome(divergences, report.write(out, divergences, about), about)


# The emulator's clock for the committed cassettes: timestamps in them do not change with the
# day they are re-recorded on (the runner lets time pass with `advance`).
RECORDING_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def record_emulator(into: Path, *, run_id: str = "emulator") -> dict[str, str]:
    """Record every scenario against the emulator alone (the committed cassettes' source)."""
    plan = SeedPlan.build(run_id)
    fake = server_like_emulator(emulator_records(plan), clock=lambda: RECORDING_EPOCH)
    return record(SCENARIOS, emulator_target(fake), plan, into)
