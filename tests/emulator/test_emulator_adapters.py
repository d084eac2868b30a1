"""The three adapters (sync transport, async transport, HTTP server) answer identically."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from emulator_support import PERSONS

from posthog_persons.testing import FakePostHog

_Step = tuple[str, str, Any, dict[str, str] | None]


def _script(fake: FakePostHog) -> list[_Step]:
    """One request per main rule, built from a fresh fake so every adapter gets the same."""
    persons = fake.persons
    first, second, stuck = persons[0], persons[1], persons[2]
    pro = json.dumps([{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}])
    reader = {"Authorization": "Bearer phx_reader"}
    return [
        ("GET", f"{PERSONS}?limit=5&offset=5", None, None),
        ("GET", f"{PERSONS}?limit=5&include_total=1&search=example", None, None),
        ("GET", f"{PERSONS}?properties={pro}&limit=3", None, None),
        ("GET", f"{PERSONS}?email={first['properties'].get('email', 'x')}", None, None),
        ("GET", f"/api/environments/1/persons/{first['uuid']}/", None, None),
        ("GET", f"{PERSONS}user-1/", None, None),
        ("GET", f"{PERSONS}424242/", None, None),
        ("GET", PERSONS, None, {"Authorization": "Bearer phx_nope"}),
        ("POST", f"{PERSONS}bulk_delete/", {"distinct_ids": ["a"]}, reader),
        ("POST", f"{PERSONS}bulk_delete/", {"ids": [first["uuid"]], "distinct_ids": ["a"]}, None),
        ("POST", f"{PERSONS}bulk_delete/", {"distinct_ids": ["d"] * 1001}, None),
        ("POST", f"{PERSONS}bulk_delete/", {}, None),
        (
            "POST",
            f"{PERSONS}bulk_delete/",
            {"ids": [first["uuid"], stuck["uuid"], str(uuid.UUID(int=3))], "delete_events": True},
            None,
        ),
        ("GET", f"{PERSONS}deletion_status/?status=pending", None, None),
        ("GET", f"{PERSONS}deletion_status/?status=nope", None, None),
        ("POST", f"{PERSONS}batch_by_uuids/", {"uuids": [second["uuid"], "bad"]}, None),
        ("POST", f"{PERSONS}batch_by_uuids/", {"uuids": [p["uuid"] for p in persons]}, None),
        (
            "GET",
            f"{PERSONS}properties_at_time/?distinct_id=nobody&timestamp=2030-01-01",
            None,
            None,
        ),
        ("PATCH", f"{PERSONS}{second['id']}/", {"properties": {"plan": "gold"}}, None),
        # Deletes that got a 400 counted too (DRF throttles first): the sixth is over 5.
        ("POST", f"{PERSONS}bulk_delete/", {"distinct_ids": ["x"]}, None),
        ("POST", f"{PERSONS}bulk_delete/", {"distinct_ids": ["x"]}, None),
    ]


def _fake() -> FakePostHog:
    fake = FakePostHog(
        220,
        seed=8,
        validate=False,
        delete_rate_limit_per_minute=5,
        clock=lambda: 1_700_000_000.0,
    )
    fake.add_api_key("phx_reader", ["person:read"])
    fake.make_undeletable(fake.persons[2]["uuid"])
    return fake


def _normalise(response: httpx.Response, base: str) -> tuple[Any, ...]:
    text = response.text.replace(base.rstrip("/"), "BASE")
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("retry-after"),
        json.loads(text) if text else None,
    )


def _run_sync(client: httpx.Client, steps: list[_Step]) -> list[tuple[Any, ...]]:
    base = str(client.base_url)
    return [
        _normalise(client.request(m, url, json=body, headers=headers), base)
        for m, url, body, headers in steps
    ]


def test_transports_and_server_answer_the_same() -> None:
    steps = _script(_fake())

    sync_fake = _fake()
    with sync_fake.client() as client:
        sync = _run_sync(client, steps)

    async_fake = _fake()

    async def run_async() -> list[tuple[Any, ...]]:
        async with async_fake.async_client() as client:
            base = str(client.base_url)
            answers = []
            for m, url, body, headers in steps:
                response = await client.request(m, url, json=body, headers=headers)
                answers.append(_normalise(response, base))
            return answers

    via_async = asyncio.run(run_async())

    http_fake = _fake()
    with (
        http_fake.serve() as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {http_fake.api_key}"}
        ) as client,
    ):
        via_http = _run_sync(client, steps)

    assert sync == via_async
    assert sync == via_http
    statuses = [answer[0] for answer in sync]
    assert statuses == [
        200, 200, 200, 200, 200, 400, 404, 401, 403, 400, 400, 400, 202,
        200, 400, 400, 200, 404, 202, 202, 429,
    ]  # fmt: skip
    page = sync[0][3]
    assert page["next"] == f"BASE{PERSONS}?limit=5&offset=10" and "count" not in page
    assert sync[1][3]["count"] > 0
    summary = sync[12][3]
    assert summary["deletion_errors"] == [{"person_uuid": steps[12][2]["ids"][1]}]
    assert sync[-1][2] == "60"
    # 220 uuids sent, the first 200 considered, one of them deleted above.
    assert len(sync[16][3]["results"]) == 199
