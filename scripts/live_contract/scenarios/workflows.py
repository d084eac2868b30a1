"""Every facade workflow, as a user runs it, on the persons its run seeded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from posthog_persons import (
    AuthenticationError,
    BulkDeleteProgress,
    BulkDeleteResult,
    DeletionWaitResult,
    InvalidInputError,
    NotFoundError,
)

from . import Context, Scenario, expect, expect_raises

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
WRONG_KEY = "phx_this_key_is_wrong_0000000000"


def _accepted(result: BulkDeleteResult) -> int:
    """Persons a bulk delete deleted now or queued for deletion (newer deployments queue)."""
    return result.persons_deleted + result.persons_queued


def _accounted(wait: DeletionWaitResult, uuids: set[str]) -> None:
    seen = set(wait.completed) | set(wait.pending)
    expect(seen == uuids, f"wait_for_deletions accounted for {seen}, not {uuids}")


def iterate_with_a_property_filter_across_pages(ctx: Context) -> None:
    with ctx.persons() as client:
        everyone = list(client.iter_persons(properties=ctx.plan.run_filter(), page_size=5))
        uuids = [p.uuid for p in everyone]
        expect(len(set(uuids)) == len(uuids), "a person was listed twice across pages")
        expect(len(everyone) == len(ctx.plan.persons), f"listed {len(everyone)} seeded persons")
        readers = list(client.iter_persons(properties=ctx.plan.run_filter("reader"), page_size=2))
        expect(len(readers) == len(ctx.plan.role("reader")), f"listed {len(readers)} readers")
        expect({p.uuid for p in readers} <= set(uuids), "a reader was missing from the run")
        expect(
            all(p.properties.get("lc_role") == "reader" for p in readers),
            "the property filter let a non-reader through",
        )


def get_person_by_uuid_and_by_numeric_id(ctx: Context) -> None:
    reader = ctx.plan.role("reader")[0]
    with ctx.persons() as client:
        found = client.get_persons_by_distinct_ids([reader.distinct_id])[reader.distinct_id]
        by_uuid = client.get_person(found.uuid)
        expect(by_uuid.uuid == found.uuid, "retrieve by UUID returned another person")
        expect(reader.distinct_id in by_uuid.distinct_ids, "retrieve lost the distinct id")
        expect(found.id is not None, "the batch lookup gave no numeric id")
        assert found.id is not None
        expect(client.get_person(found.id).uuid == found.uuid, "retrieve by numeric id differs")
        expect_raises(
            NotFoundError, lambda: client.get_person(UNKNOWN_UUID), "an unknown UUID was found"
        )
        # Refused before any request: a distinct id is not a person id.
        expect_raises(
            InvalidInputError,
            lambda: client.get_person(reader.distinct_id),
            "a distinct id was accepted as a person id",
        )


def batch_lookups(ctx: Context) -> None:
    readers = ctx.plan.role("reader")
    with ctx.persons() as client:
        by_distinct = client.get_persons_by_distinct_ids(
            [p.distinct_id for p in readers] + ["lc-no-such-distinct-id"]
        )
        expect(set(by_distinct) == {p.distinct_id for p in readers}, f"found {set(by_distinct)}")
        uuids = [p.uuid for p in by_distinct.values()]
        by_uuid = client.get_persons_by_uuids([*uuids, UNKNOWN_UUID])
        expect(set(by_uuid) == set(uuids), f"found {set(by_uuid)} by UUID")


def update_and_delete_a_property(ctx: Context) -> None:
    uuid = ctx.uuid("editor")
    with ctx.persons() as client:
        # Both are accepted and applied asynchronously (a $set / $unset event).
        client.update_properties(uuid, {"contract_test": "yes"})
        client.delete_property(uuid, "contract_test")


def a_bad_key_is_an_authentication_error(ctx: Context) -> None:
    with ctx.persons(api_key=WRONG_KEY) as client:
        error = expect_raises(
            AuthenticationError, lambda: next(client.iter_persons()), "a wrong key was accepted"
        )
        expect("phx_this_key_is_wrong" not in str(error), "the key leaked into the error")


def erasure_bulk_delete_by_distinct_id_then_wait(ctx: Context) -> None:
    victims = ctx.plan.role("erasure")
    distinct_ids = [d for p in victims for d in p.distinct_ids]
    seen: list[BulkDeleteProgress] = []
    with ctx.persons() as client:
        expected = {p.uuid for p in client.get_persons_by_distinct_ids(distinct_ids).values()}
        result = client.bulk_delete(
            distinct_ids=distinct_ids, delete_events=True, on_progress=seen.append
        )
        expect(result.persons_found == len(victims), f"found {result.persons_found}")
        expect(_accepted(result) == len(victims), f"deleted or queued {_accepted(result)}")
        expect(set(result.person_uuids) == expected, "the resolved UUIDs differ")
        expect(seen and seen[-1].persons_deleted == result.persons_deleted, "no final progress")
        statuses = {s.person_uuid for s in client.deletion_status(person_uuids=sorted(expected))}
        expect(statuses == expected, f"deletion_status knows {statuses}")
        _accounted(client.wait_for_deletions(result.person_uuids, timeout=0), expected)


def bulk_delete_by_uuid(ctx: Context) -> None:
    uuids = [ctx.uuid("uuid_delete", n) for n in range(len(ctx.plan.role("uuid_delete")))]
    with ctx.persons() as client:
        result = client.bulk_delete(ids=[*uuids, uuids[0]])
        expect(result.requested == len(uuids) and result.batches == 1, f"{result}")
        expect(_accepted(result) == len(uuids), f"deleted or queued {_accepted(result)}")


def async_client_reads_and_deletes(ctx: Context) -> None:
    victim = ctx.plan.role("async_delete")[0]

    async def workflow() -> None:
        async with ctx.async_persons() as client:
            readers = [
                p async for p in client.iter_persons(properties=ctx.plan.run_filter("reader"))
            ]
            expect(len(readers) == len(ctx.plan.role("reader")), f"listed {len(readers)}")
            found = await client.get_persons_by_distinct_ids([victim.distinct_id])
            uuid = found[victim.distinct_id].uuid
            result = await client.bulk_delete(ids=[uuid], delete_events=True)
            expect(_accepted(result) == 1, f"deleted or queued {_accepted(result)}")
            _accounted(await client.wait_for_deletions([uuid], timeout=0), {uuid})

    asyncio.run(workflow())


def _scenario(run: Callable[[Context], Any]) -> Scenario:
    return Scenario("test_facade_workflows", "test_facade_workflow", run.__name__, run)


# In run order: reads before the deletions (the live project is one shared state).
READS = [
    _scenario(iterate_with_a_property_filter_across_pages),
    _scenario(get_person_by_uuid_and_by_numeric_id),
    _scenario(batch_lookups),
    _scenario(update_and_delete_a_property),
    _scenario(a_bad_key_is_an_authentication_error),
]
DELETIONS = [
    _scenario(erasure_bulk_delete_by_distinct_id_then_wait),
    _scenario(bulk_delete_by_uuid),
    _scenario(async_client_reads_and_deletes),
]
