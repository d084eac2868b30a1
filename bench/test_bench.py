"""The benchmarks `make bench` runs (marked `bench`: `make test` never collects this folder).

Each records what it measured for the report (bench/results/results.md and README) and checks
what must hold whatever the machine: every person iterated or deleted, memory flat, no 429.
The targets (overhead <= 1.3x, erasure within 10% of the floor) are reported, met or not.
"""

from __future__ import annotations

from typing import Any

import pytest
from erasure import Erasure, Latency, erase, found_every
from overhead import in_process_server, loopback_server, measure, memory_while_iterating
from report import overhead_section

pytestmark = pytest.mark.bench

PERSONS = 20_000
RUNS = 7


def test_iteration_overhead(measured: dict[str, Any]) -> None:
    with loopback_server(PERSONS) as server:
        loopback = measure(server, PERSONS, RUNS)
        memory = memory_while_iterating(server, PERSONS)
    with in_process_server(PERSONS) as server:
        in_process = measure(server, PERSONS, RUNS)
    measured["overhead"] = overhead_section(loopback, in_process, memory)
    print(f"\n{measured['overhead']}")
    # Flat: what is held after 90% of the persons is what was held after 10%, give or take
    # a page (about 100 records of ~0.5 KiB, parsed).
    assert memory.late_kib - memory.early_kib < 256


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("delete_events", [False, True], ids=["no-events", "events"])
@pytest.mark.parametrize("ids", [10**4, 10**5, 10**6, 10**7])
def test_erasure_time_against_the_floor(
    ids: int, delete_events: bool, measured: dict[str, Any]
) -> None:
    latency = Latency()
    row: Erasure = erase(ids, delete_events, latency)
    measured["latency"] = latency
    measured.setdefault("erasure", []).append(row)
    print(f"\n{row}")
    assert row.throttled == 0  # paced to the server's own budgets: never refused
    assert row.deletes == -(-ids // 1000)
    assert row.lookups == (-(-ids // 200) if delete_events else 0)
    assert row.persons_deleted == -(-ids // found_every(ids))
