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
