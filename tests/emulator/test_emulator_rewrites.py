"""Deliberate misbehaviour: override, transform, trickle and endless pages (contract C3)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import OPERATIONS, FakePostHog, endless_empty_pages


def test_override_answers_instead_of_the_handler(fake: FakePostHog) -> None:
    target = fake.persons[0]
    fake.override("persons_bulk_delete_create", json={"persons_found": 1}, times=1)
    with fake.client() as client:
        body = {"ids": [target["uuid"]]}
        first = client.post(f"{PERSONS}bulk_delete/", json=body)
        # The operation's own status by default; the handler did not run: nothing deleted.
        assert (first.status_code, first.json()) == (202, {"persons_found": 1})
        assert fake.get_person(target["uuid"]) is not None
        # Spent after one call: the next one is the server's own answer.
        second = client.post(f"{PERSONS}bulk_delete/", json=body)
    assert second.json()["persons_deleted"] == 1
    assert [r.rewritten for r in fake.requests] == [True, False]
    assert fake.requests[0].operation == "persons_bulk_delete_create"


def test_override_statuses_raw_bodies_and_headers(fake: FakePostHog) -> None:
    fake.override("persons_list", status=503, body=b"<html>down</html>", headers={"X-Why": "a"})
    fake.override("persons_retrieve", status=500)
    with fake.client() as client:
        listed = client.get(PERSONS)
        retrieved = client.get(f"{PERSONS}1/")
    assert (listed.status_code, listed.text, listed.headers["x-why"]) == (
        503,
        "<html>down</html>",
        "a",
    )
    assert (retrieved.status_code, retrieved.content) == (500, b"")


def test_override_json_may_echo_the_request(fake: FakePostHog) -> None:
    # A server that puts the Authorization header in its error body.
    fake.override(
        "persons_batch_by_uuids_create",
        status=400,
        json=lambda request: {"detail": f"bad header: {request.headers['authorization']}"},
    )
    with fake.client() as client:
        response = client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": []})
    assert response.json() == {"detail": f"bad header: Bearer {fake.api_key}"}
    # The request log still never keeps the key.
    assert fake.api_key not in repr(fake.requests)


def test_requests_refused_before_the_handler_do_not_use_a_rule(fake: FakePostHog) -> None:
    fake.add_api_key("phx_reader", ["person:read"])
    fake.override("persons_bulk_delete_create", json={"odd": True}, times=1)
    with fake.client() as client:
        reader = {"Authorization": "Bearer phx_reader"}
        assert client.post(f"{PERSONS}bulk_delete/", json={}, headers=reader).status_code == 403
        response = client.post(f"{PERSONS}bulk_delete/", json={"distinct_ids": ["x"]})
    assert response.json() == {"odd": True}


def test_transform_runs_the_handler_and_rewrites_its_json(fake: FakePostHog) -> None:
    target = fake.persons[0]
    fake.transform(
        "persons_bulk_delete_create",
        lambda body: {k: v for k, v in body.items() if k != "persons_deleted"},
    )
    fake.transform("persons_batch_by_uuids_create", lambda body: {"results": None}, times=2)
    with fake.client() as client:
        summary = client.post(f"{PERSONS}bulk_delete/", json={"ids": [target["uuid"]]}).json()
        assert "persons_deleted" not in summary and summary["persons_found"] == 1
        # The deletion did happen.
        assert client.get(f"{PERSONS}{target['uuid']}/").status_code == 404
        answers = [
            client.post(f"{PERSONS}batch_by_uuids/", json={"uuids": [p["uuid"]]}).json()
            for p in fake.persons[:3]
        ]
    assert answers[:2] == [{"results": None}] * 2
    assert answers[2]["results"]


def test_endless_empty_pages_always_advance(fake: FakePostHog) -> None:
    fake.override("persons_list", json=endless_empty_pages)
    with fake.client() as client:
        url: str | None = f"{PERSONS}?limit=25"
        offsets = []
        for _ in range(5):
            assert url is not None
            body = client.get(url).json()
            assert body["results"] == [] and body["previous"] is None
            url = body["next"]
            offsets.append(httpx.URL(url).params["offset"])
    assert offsets == ["25", "50", "75", "100", "125"]
    with fake.client() as client:
        # Without (or with a junk) limit, pages of the default 100.
        assert (
            httpx.URL(client.get(PERSONS, params={"limit": "x"}).json()["next"]).params["offset"]
            == "100"
        )
    fake.clear_overrides("persons_list")
    with fake.client() as client:
        assert len(client.get(PERSONS).json()["results"]) == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation_id": "bulk_delete"}, "unknown operation id 'bulk_delete'"),
        ({"operation_id": "persons_list", "times": 0}, "times must be"),
        ({"operation_id": "persons_list", "json": {}, "body": b"x"}, "not both"),
    ],
)
def test_rules_refuse_bad_arguments(
    fake: FakePostHog, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fake.override(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown operation id"):
        fake.transform("persons", lambda body: body)
    with pytest.raises(ValueError, match="trickle needs"):
        fake.trickle("persons_list", delay=-1)


def test_every_operation_has_a_name_to_override() -> None:
    assert {
        "persons_list",
        "persons_retrieve",
        "persons_bulk_delete_create",
        "persons_deletion_status_list",
        "persons_destroy",
        "funnel",
        "trends",
        "lifecycle",
    } <= set(OPERATIONS)


DELAY = 0.04


def _trickled(fake: FakePostHog) -> tuple[bytes, int]:
    """The bytes of person 1's retrieve answer and how many chunks of 64 they make."""
    with fake.client() as client:
        content = client.get(f"{PERSONS}1/").content
    return content, -(-len(content) // 64)


def test_trickle_sends_the_body_slowly_on_the_sync_transport(fake: FakePostHog) -> None:
    expected, chunks = _trickled(fake)
    fake.trickle("persons_retrieve", delay=DELAY, chunk=64, times=1)
    with fake.client() as client:
        started = time.monotonic()
        response = client.get(f"{PERSONS}1/")
        elapsed = time.monotonic() - started
        assert response.content == expected
        assert int(response.headers["content-length"]) == len(expected)
        # Spent: the next answer comes at once.
        started = time.monotonic()
        client.get(f"{PERSONS}1/")
        assert time.monotonic() - started < DELAY
    assert elapsed >= chunks * DELAY * 0.9


def test_trickle_on_the_async_transport(fake: FakePostHog) -> None:
    expected, chunks = _trickled(fake)
    fake.trickle("persons_retrieve", delay=DELAY, chunk=64)

    async def fetch() -> tuple[bytes, float]:
        async with fake.async_client() as client:
            started = time.monotonic()
            response = await client.get(f"{PERSONS}1/")
            return response.content, time.monotonic() - started

    content, elapsed = asyncio.run(fetch())
    assert content == expected and elapsed >= chunks * DELAY * 0.9


def test_trickle_over_http_defeats_a_per_read_timeout(fake: FakePostHog) -> None:
    expected, chunks = _trickled(fake)
    fake.trickle("persons_retrieve", delay=DELAY, chunk=64)
    # Each read waits DELAY, under the 4*DELAY read timeout, however long the whole takes.
    timeout = httpx.Timeout(DELAY * 4)
    with fake.serve() as server, httpx.Client(base_url=server.url, timeout=timeout) as client:
        started = time.monotonic()
        response = client.get(f"{PERSONS}1/", headers={"Authorization": f"Bearer {fake.api_key}"})
        elapsed = time.monotonic() - started
    assert response.content == expected
    assert chunks * DELAY > DELAY * 4 and elapsed >= chunks * DELAY * 0.9


def test_a_trickled_answer_survives_a_client_that_gives_up(fake: FakePostHog) -> None:
    fake.trickle("persons_list", delay=0.2, chunk=16)
    with fake.serve() as server:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(
                f"{server.url}{PERSONS}",
                headers={"Authorization": f"Bearer {fake.api_key}"},
                timeout=0.1,
            )
        fake.clear_overrides()
        # The server thread stops writing to the closed socket; the server still answers.
        again = httpx.get(
            f"{server.url}{PERSONS}{uuid.UUID(int=1)}/",
            headers={"Authorization": f"Bearer {fake.api_key}"},
        )
    assert again.status_code == 404
