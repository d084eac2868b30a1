"""What the check does against each side: every facade workflow, every generated operation and
the error answers, each a scenario recorded into its own cassette.

A scenario only reads the project, or edits and deletes persons its own run seeded (found by
their distinct ids, through recorded lookups, so that a replay sends the very same requests).
Its checks are what the client promises whichever server answers; a check that fails on one
side only is itself reported as a divergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from posthog_persons_api import Client

from posthog_persons import AsyncPersonsClient, PersonsClient

from ..seeding import SeedPlan

E = TypeVar("E", bound=BaseException)


class ScenarioFailure(AssertionError):
    """A scenario's check did not hold."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise ScenarioFailure(message)


def expect_raises(error: type[E], call: Callable[[], object], message: str) -> E:
    try:
        call()
    except error as caught:
        return caught
    raise ScenarioFailure(message)


@dataclass(frozen=True)
class Target:
    """One side: where requests go, and how to let time pass there."""

    name: str
    host: str
    project_id: str
    api_key: str = field(repr=False)
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    wait: Callable[[float], None] = lambda seconds: None


@dataclass
class Context:
    """What a scenario works with; clients built here send through the target's transport."""

    target: Target
    plan: SeedPlan
    _records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def persons(self, api_key: str | None = None) -> PersonsClient:
        # Pacing off: the runner keeps a run within the server's budget, and a replay must not
        # wait. Retries stay on (the defaults), as a user would have them.
        return PersonsClient(
            api_key or self.target.api_key,
            project_id=self.target.project_id,
            host=self.target.host,
            transport=self.target.transport,
            rate_limits=None,
        )

    def async_persons(self) -> AsyncPersonsClient:
        return AsyncPersonsClient(
            self.target.api_key,
            project_id=self.target.project_id,
            host=self.target.host,
            transport=self.target.async_transport,
            rate_limits=None,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.target.host,
            transport=self.target.transport,
            headers={"Authorization": f"Bearer {self.target.api_key}"},
        )

    def api(self) -> Client:
        client = Client(base_url=self.target.host)
        client.set_httpx_client(self.http())
        return client

    def path(self, suffix: str = "") -> str:
        return f"/api/projects/{self.target.project_id}/persons/{suffix}"

    def _record(self, role: str, n: int) -> dict[str, Any]:
        """A seeded person as the batch lookup answers it (one recorded request, cached)."""
        distinct_id = self.plan.role(role)[n].distinct_id
        if distinct_id not in self._records:
            with self.http() as http:
                answer = http.post(
                    self.path("batch_by_distinct_ids/"), json={"distinct_ids": [distinct_id]}
                )
            found = answer.json().get("results", {}) if answer.status_code == 200 else {}
            record = found.get(distinct_id) if isinstance(found, dict) else None
            expect(
                isinstance(record, dict) and record.get("uuid"),
                f"the seeded person {distinct_id} was not found (HTTP {answer.status_code})",
            )
            assert isinstance(record, dict)
            self._records[distinct_id] = record
        return self._records[distinct_id]

    def uuid(self, role: str, n: int = 0) -> str:
        return str(self._record(role, n)["uuid"])

    def numeric_id(self, role: str, n: int = 0) -> int:
        """The numeric id (the lookups carry it; list results carry the UUID in `id`)."""
        value = self._record(role, n).get("id")
        expect(isinstance(value, int), f"the lookup gave no numeric id for {role} {n}: {value!r}")
        assert isinstance(value, int)
        return value


# Recorded-response filter: which answers of a scenario its cassette keeps (None: all).
Keep = Callable[[int], bool]


@dataclass(frozen=True)
class Scenario:
    """`group` is the tests/contract module that replays it; `test` its test function."""

    group: str
    test: str
    name: str
    run: Callable[[Context], Any]
    keep: Keep | None = None
    # Seconds the runner lets pass on the side before this scenario (a fresh rate-limit window).
    wait_before: float = 0.0

    @property
    def cassette(self) -> str:
        return f"{self.group}/{self.test}[{self.name}].yaml"
