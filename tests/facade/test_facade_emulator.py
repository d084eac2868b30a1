"""End to end against the emulator (posthog_persons.testing): a full erasure, both twins."""

from __future__ import annotations

import pytest
from facade_support import run_async

from posthog_persons import AsyncPersonsClient, PersonsClient

testing = pytest.importorskip("posthog_persons.testing")


def test_full_erasure_sync() -> None:
    fake = testing.FakePostHog(persons=2500, deletion_delay=120)
    with PersonsClient(
        fake.api_key, project_id=fake.project_id, host=fake.host, transport=fake.transport(),
        clock=fake.now, sleep=fake.advance,
    ) as client:  # fmt: skip
        persons = list(client.iter_persons(page_size=300))
        assert len(persons) == len({p.uuid for p in persons}) == 2500
        wanted = [d for p in persons[:1200] for d in p.distinct_ids]
        found = client.get_persons_by_distinct_ids(wanted)
        assert {p.uuid for p in found.values()} == {p.uuid for p in persons[:1200]}
        result = client.bulk_delete(distinct_ids=wanted, delete_events=True)
        assert result.persons_deleted == 1200 and len(result.person_uuids) == 1200
        assert {s.person_uuid for s in client.deletion_status(status="pending")} == set(
            result.person_uuids
        )
        waited = client.wait_for_deletions(result.person_uuids, timeout=600, poll_interval=60)
        assert waited.done and len(waited.completed) == 1200
        assert len(list(client.iter_persons())) == 1300
    assert fake.contract_errors == []


def test_full_erasure_async() -> None:
    fake = testing.FakePostHog(persons=1100, deletion_delay=30)

    async def sleep(seconds: float) -> None:
        fake.advance(seconds)

    async def main() -> None:
        async with AsyncPersonsClient(
            fake.api_key, project_id=fake.project_id, host=fake.host,
            transport=fake.async_transport(), clock=fake.now, sleep=sleep,
        ) as client:  # fmt: skip
            uuids = [p.uuid async for p in client.iter_persons()]
            result = await client.bulk_delete(ids=uuids, delete_events=True)
            assert result.persons_deleted == 1100 and result.batches == 2
            waited = await client.wait_for_deletions(uuids, timeout=300, poll_interval=20)
            assert waited.done

    run_async(main())
    assert fake.contract_errors == []


def _client(fake: object, **options: object) -> PersonsClient:
    return PersonsClient(
        fake.api_key, project_id=fake.project_id, host=fake.host,  # type: ignore[attr-defined]
        transport=fake.transport(), clock=fake.now, sleep=fake.advance,  # type: ignore[attr-defined]
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_queued_profile_deletion_is_done_only_when_the_persons_are_gone() -> None:
    """Newer deployments: persons_deleted 0, persons_queued_for_deletion N, profiles vanish
    later. Never counted as failures; the wait is done only once they are gone."""
    fake = testing.FakePostHog(
        persons=250, deletion_delay=60, queued_deletion=True, queued_deletion_delay=900
    )
    with _client(fake) as client:
        uuids = [p.uuid for p in client.iter_persons(page_size=1000)]
        result = client.bulk_delete(ids=uuids, delete_events=True, batch_size=100)
        assert (result.persons_deleted, result.persons_queued, result.errors) == (0, 250, ())
        assert len(result.person_uuids) == 250 and result.batches == 3
        early = client.wait_for_deletions(uuids, timeout=300, poll_interval=120)
        assert not early.done and len(early.still_existing) == 250 and early.pending == ()
        late = client.wait_for_deletions(uuids, timeout=1200, poll_interval=120)
        assert late.done and len(late.completed) == 250
        assert list(client.iter_persons()) == []
    assert fake.contract_errors == []


def test_a_lookup_answering_null_results_stops_the_erasure_as_a_server_failure() -> None:
    """Issue 11 #3 against the emulator's transform: nothing deleted, nothing "complete"."""
    from posthog_persons import BulkDeleteError, MalformedResponseError

    fake = testing.FakePostHog(persons=50)
    fake.transform("persons_batch_by_distinct_ids_create", lambda b: {**b, "results": None})
    with _client(fake) as client:
        ids = [d for p in client.iter_persons() for d in p.distinct_ids]
        with pytest.raises(BulkDeleteError) as caught:
            client.bulk_delete(distinct_ids=ids, delete_events=True)
        assert isinstance(caught.value, MalformedResponseError)
        assert caught.value.remaining == list(dict.fromkeys(ids))
        assert len(list(client.iter_persons())) == 50
    fake.transform("persons_list", lambda b: {**b, "results": None})
    with _client(fake) as client, pytest.raises(MalformedResponseError):
        list(client.iter_persons())


def test_a_key_echoed_in_an_error_body_is_redacted() -> None:
    from posthog_persons import PermissionDeniedError

    fake = testing.FakePostHog(persons=5)
    fake.override(
        "persons_bulk_delete_create", status=403,
        json=lambda request: {"detail": f"denied for {request.headers['authorization']}"},
    )  # fmt: skip
    with _client(fake) as client:
        uuids = [p.uuid for p in client.iter_persons()]
        with pytest.raises(PermissionDeniedError) as caught:
            client.bulk_delete(ids=uuids)
    texts = f"{caught.value} {caught.value!r} {vars(caught.value)!r}"
    assert fake.api_key not in texts and "Bearer [REDACTED]" in texts


def test_uuids_matching_nobody_are_not_tracked_and_the_wait_ends_done() -> None:
    """ids= mixing real persons with UUIDs that match nobody: the server queues event
    deletion for the persons it finds only, so only they are tracked, and the wait is done
    with nothing "unknown"."""
    import uuid as uuidlib

    fake = testing.FakePostHog(persons=300, deletion_delay=60)
    with _client(fake) as client:
        real = [p.uuid for p in client.iter_persons(page_size=1000)]
        nobody = [str(uuidlib.UUID(int=(1 << 100) + i)) for i in range(300)]
        ids = [u for pair in zip(real, nobody, strict=True) for u in pair]
        result = client.bulk_delete(ids=ids, delete_events=True, batch_size=250)
        assert result.requested == 600 and result.persons_found == 300
        assert result.person_uuids == tuple(real)
        assert {s.person_uuid for s in client.deletion_status()} == set(real)
        waited = client.wait_for_deletions(result.person_uuids, timeout=600, poll_interval=60)
        assert waited.done and waited.unknown == () and len(waited.completed) == 300
    assert fake.contract_errors == []
