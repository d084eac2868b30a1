#!/usr/bin/env python3
"""`make demo`: a full GDPR-style erasure through the public client.

By default it starts the bundled emulator (`posthog_persons.testing`) as a real HTTP server on
127.0.0.1 with a few thousand persons, answering bulk deletes as newer PostHog deployments do
(the profiles are queued for deletion and vanish a little later), then: finds persons by a
property filter, bulk deletes them by distinct id with their events, shows progress, waits
until they are erased (every event deletion completed and every person gone), and prints a
short report.

With `--live` it talks to the real PostHog project named by POSTHOG_PERSONAL_API_KEY,
POSTHOG_PROJECT_ID and POSTHOG_HOST; it is read-only (it counts what it would delete) unless
`--yes` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator

from posthog_persons import BulkDeleteProgress, PersonsClient, PostHogError


@contextlib.contextmanager
def emulated_project(persons: int, seed: int) -> Iterator[PersonsClient]:
    from posthog_persons.testing import FakePostHog

    # Event deletions "complete" a few seconds after they are queued (days on the real server);
    # the profiles are queued too, and vanish 2 seconds after the bulk delete.
    fake = FakePostHog(
        persons=persons, seed=seed, deletion_delay=3.0,
        queued_deletion=True, queued_deletion_delay=2.0,
    )  # fmt: skip
    with fake.serve(port=0) as server:
        print(f"emulator: {persons} persons at {server.url} (project {fake.project_id})")
        with PersonsClient(
            fake.api_key, project_id=str(fake.project_id), host=server.url
        ) as client:
            yield client


def show_progress(progress: BulkDeleteProgress) -> None:
    print(
        f"  batch {progress.batches_done}: {progress.ids_sent} ids sent, "
        f"{progress.persons_deleted} persons deleted, {progress.persons_queued} queued"
    )


def erase(client: PersonsClient, plan: str, *, delete: bool, wait_timeout: float) -> int:
    filters = [{"key": "plan", "value": plan, "operator": "exact", "type": "person"}]
    print(f"1. finding persons with plan = {plan!r} ...")
    distinct_ids = [
        d for person in client.iter_persons(properties=filters) for d in person.distinct_ids
    ]
    print(f"   {len(distinct_ids)} distinct ids found")
    if not distinct_ids:
        return 0
    if not delete:
        print("   read-only: pass --yes to delete them")
        return 0

    print("2. bulk deleting them by distinct id, with their events ...")
    started = time.monotonic()
    result = client.bulk_delete(
        distinct_ids=distinct_ids, delete_events=True, on_progress=show_progress
    )
    print(
        f"   {result.persons_deleted} persons deleted and {result.persons_queued} queued for "
        f"deletion in {result.batches} requests ({time.monotonic() - started:.1f} s); "
        f"{len(result.errors)} errors; {len(result.person_uuids)} event deletions queued"
    )

    print("3. waiting until they are erased (events deleted, persons gone) ...")
    wait = client.wait_for_deletions(result.person_uuids, timeout=wait_timeout, poll_interval=1.0)
    print(
        f"   erased {len(wait.completed)}, events pending {len(wait.pending)}, no record "
        f"{len(wait.unknown)}, still existing {len(wait.still_existing)}"
    )

    print("4. report")
    print(f"   distinct ids requested : {result.requested}")
    print(f"   persons found          : {result.persons_found}")
    print(f"   persons deleted        : {result.persons_deleted} (+{result.persons_queued} queued)")
    print(f"   deletion errors        : {len(result.errors)}")
    print(f"   persons erased         : {len(wait.completed)}/{len(result.person_uuids)}")
    left = sum(1 for _ in client.iter_persons(properties=filters))
    print(f"   persons left with plan = {plan!r}: {left}")
    return 0 if wait.done and not result.errors and left == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--live", action="store_true", help="use the real project from the environment"
    )
    parser.add_argument("--yes", action="store_true", help="with --live: really delete")
    parser.add_argument("--plan", default="pro", help="erase the persons on this plan")
    parser.add_argument("--persons", type=int, default=5000, help="emulator size")
    parser.add_argument("--seed", type=int, default=2026, help="emulator data seed")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for deletions")
    args = parser.parse_args(argv)
    try:
        if args.live:
            with PersonsClient() as client:
                return erase(client, args.plan, delete=args.yes, wait_timeout=args.timeout)
        with emulated_project(args.persons, args.seed) as client:
            return erase(client, args.plan, delete=True, wait_timeout=args.timeout)
    except PostHogError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
