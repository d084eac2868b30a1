"""Every facade workflow against recorded server answers (sync and async, both scopes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from cassette_support import Target

from posthog_persons import (
    AsyncPersonsClient,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PersonsClient,
)

PRO = [{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}]


@pytest.fixture
def client(target: Target) -> Iterator[PersonsClient]:
    # Pacing off: recorded answers need no protection, and the replay must not wait.
    with PersonsClient(
        target.api_key,
        project_id=target.project_id,
        host=target.host,
        transport=target.transport,
        rate_limits=None,
    ) as persons:
        yield persons


@pytest.mark.vcr
def test_iterate_with_a_property_filter_across_pages(client: PersonsClient) -> None:
    everyone = list(client.iter_persons(page_size=7))
    assert len({p.uuid for p in everyone}) == len(everyone) >= 8
    pro = list(client.iter_persons(properties=PRO, page_size=3))
    assert pro and all(p.properties.get("plan") == "pro" for p in pro)
    assert {p.uuid for p in pro} <= {p.uuid for p in everyone}


@pytest.mark.vcr
def test_get_person_by_uuid_and_by_numeric_id(client: PersonsClient) -> None:
    first = next(client.iter_persons(page_size=1))
    assert client.get_person(first.uuid).uuid == first.uuid
    assert first.id is not None
    assert client.get_person(first.id).uuid == first.uuid
    with pytest.raises(NotFoundError):
        client.get_person("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidInputError, match="distinct_id"):
        client.get_person("user@example.com")


@pytest.mark.vcr
def test_batch_lookups(client: PersonsClient) -> None:
    people = list(client.iter_persons(page_size=10))[:5]
    by_distinct = client.get_persons_by_distinct_ids(
        [p.distinct_ids[0] for p in people] + ["no-such-distinct-id"]
    )
    assert set(by_distinct) == {p.distinct_ids[0] for p in people}
    by_uuid = client.get_persons_by_uuids([p.uuid for p in people])
    assert set(by_uuid) == {p.uuid for p in people}


@pytest.mark.vcr
def test_update_and_delete_a_property(client: PersonsClient) -> None:
    person = next(client.iter_persons(page_size=1))
    client.update_properties(person.uuid, {"contract_test": "yes"})
    client.delete_property(person.uuid, "contract_test")


@pytest.mark.vcr
def test_erasure_bulk_delete_by_distinct_id_then_wait(client: PersonsClient) -> None:
    victims = list(client.iter_persons(properties=PRO, page_size=100))
    distinct_ids = [d for p in victims for d in p.distinct_ids]
    seen = []
    result = client.bulk_delete(
        distinct_ids=distinct_ids, delete_events=True, on_progress=seen.append
    )
    assert result.persons_deleted == len(victims)
    assert set(result.person_uuids) == {p.uuid for p in victims}
    assert seen and seen[-1].persons_deleted == len(victims)
    statuses = list(client.deletion_status(status="all"))
    assert {s.person_uuid for s in statuses} >= set(result.person_uuids)
    wait = client.wait_for_deletions(result.person_uuids, timeout=30, poll_interval=0.2)
    assert wait.done and set(wait.completed) == set(result.person_uuids)
    assert list(client.iter_persons(properties=PRO)) == []


@pytest.mark.vcr
def test_bulk_delete_by_uuid(client: PersonsClient) -> None:
    victims = list(client.iter_persons(page_size=3))[:3]
    result = client.bulk_delete(ids=[p.uuid for p in victims] + [victims[0].uuid])
    assert result.requested == 3 and result.persons_deleted == 3 and result.batches == 1


@pytest.mark.vcr
def test_a_bad_key_is_an_authentication_error(target: Target) -> None:
    with (
        PersonsClient(
            "phx_this_key_is_wrong_0000000000",
            project_id=target.project_id,
            host=target.host,
            transport=target.transport,
            rate_limits=None,
        ) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        next(client.iter_persons())
    assert "phx_this_key_is_wrong" not in str(caught.value)


@pytest.mark.vcr
def test_environments_scope(target: Target) -> None:
    """environment_id= is a deprecated alias: its requests go to the projects scope."""
    with (
        pytest.warns(DeprecationWarning, match="project_id="),
        PersonsClient(
            target.api_key,
            environment_id=target.project_id,
            host=target.host,
            transport=target.transport,
            rate_limits=None,
        ) as client,
    ):
        person = next(client.iter_persons(page_size=2))
        assert client.get_persons_by_uuids([person.uuid])[person.uuid].uuid == person.uuid


@pytest.mark.vcr
def test_async_client_reads_and_deletes(target: Target) -> None:
    async def workflow() -> None:
        async with AsyncPersonsClient(
            target.api_key,
            project_id=target.project_id,
            host=target.host,
            transport=target.async_transport,
            rate_limits=None,
        ) as client:
            people = [p async for p in client.iter_persons(page_size=5)]
            assert len(people) >= 8
            found = await client.get_persons_by_distinct_ids([people[0].distinct_ids[0]])
            assert found[people[0].distinct_ids[0]].uuid == people[0].uuid
            result = await client.bulk_delete(ids=[people[0].uuid], delete_events=True)
            assert result.persons_deleted == 1
            wait = await client.wait_for_deletions(
                result.person_uuids, timeout=30, poll_interval=0.2
            )
            assert wait.done

    asyncio.run(workflow())
