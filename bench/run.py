#!/usr/bin/env python3
"""`make bench`: the facade's costs against the emulator's HTTP server, as a Markdown table.

The emulator runs in a subprocess (`python -m posthog_persons.testing`), so that time and
memory measured here are the client's alone. One run each; results are written to
bench/results/ (results.md, scaling.png) and printed.

    python bench/run.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from posthog_persons import PersonsClient
from posthog_persons.pacing import DEFAULT_RATE_LIMITS, paced_seconds

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Server:
    url: str
    project_id: str
    api_key: str


@contextmanager
def emulator(*args: str) -> Iterator[Server]:
    """The emulator HTTP server in its own process; contract validation off (client cost)."""
    command = [
        sys.executable,
        "-m",
        "posthog_persons.testing",
        "--port",
        "0",
        "--no-validate",
        *args,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        facts: dict[str, str] = {}
        while len(facts) < 3:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the emulator exited: {command}")
            name, _, value = line.strip().partition(" ")
            if name in ("URL", "PROJECT_ID", "API_KEY"):
                facts[name] = value
        yield Server(facts["URL"], facts["PROJECT_ID"], facts["API_KEY"])
    finally:
        process.terminate()
        process.wait(timeout=10)


class CountingTransport(httpx.HTTPTransport):
    """Counts requests (and their times) on their way to the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[float, httpx.URL]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((time.monotonic(), request.url))
        return super().handle_request(request)


def raw_iterate(server: Server) -> int:
    """The hand-written baseline: httpx + json, following `next`."""
    seen = 0
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url: str | None = f"{server.url}/api/projects/{server.project_id}/persons/?limit=100"
    with httpx.Client(headers=headers) as client:
        while url:
            page = client.get(url).json()
            seen += len(page["results"])
            url = page["next"]
    return seen


def facade_iterate(server: Server, limit: int | None = None) -> int:
    seen = 0
    with PersonsClient(server.api_key, project_id=server.project_id, host=server.url) as client:
        for _ in client.iter_persons(page_size=100):
            seen += 1
            if limit is not None and seen >= limit:
                break
    return seen


def memory_while_iterating(server: Server, persons: int) -> tuple[int, int, int]:
    """(retained bytes after 10% and after 90% of the persons, peak) within one iteration.

    Retained memory is sampled while the iterator is alive: flat means the client holds about
    one page, whatever the number of persons already yielded.
    """
    with PersonsClient(server.api_key, project_id=server.project_id, host=server.url) as client:
        iterator = client.iter_persons(page_size=100)
        next(iterator)  # imports and connection set-up are not per-person costs
        gc.collect()
        tracemalloc.start()
        early = late = 0
        for seen, _ in enumerate(iterator, start=2):
            if seen in (persons // 10, persons * 9 // 10):
                gc.collect()
                late = tracemalloc.get_traced_memory()[0]
                early = early or late
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return early, late, peak


def bench_iterate(persons: int) -> dict[str, float]:
    with emulator("--persons", str(persons)) as server:
        raw_iterate(server)  # warm the server's caches and the connection code paths
        raw_times, facade_times = [], []
        for _ in range(3):  # alternate, so drift in the machine's load hits both alike
            started = time.perf_counter()
            assert raw_iterate(server) == persons
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert facade_iterate(server) == persons
            facade_times.append(time.perf_counter() - started)
        early, late, peak = memory_while_iterating(server, persons)
    return {
        "raw_s": min(raw_times),
        "facade_s": min(facade_times),
        "ratio": min(facade_times) / min(raw_times),
        "early_kib": early / 1024,
        "late_kib": late / 1024,
        "peak_kib": peak / 1024,
        "small": persons // 10,
    }


def pacing_floor(requests: int) -> float:
    """Seconds the client's delete budgets alone need for `requests` calls."""
    return paced_seconds(requests, DEFAULT_RATE_LIMITS.deletes, [], 0.0)


def bench_bulk_delete(ids: int, latency: float) -> dict[str, float]:
    # Enough persons for `ids` distinct ids (the emulator gives each person one to three).
    with emulator("--persons", str(ids), "--latency", str(latency)) as server:
        from posthog_persons.testing import FakePostHog

        # The same seed gives the same persons as the server's, without listing them all.
        data = FakePostHog(persons=ids, seed=0, validate=False)
        distinct_ids = [d for p in data.persons for d in p["distinct_ids"]][:ids]
        counter = CountingTransport()
        with PersonsClient(
            server.api_key, project_id=server.project_id, host=server.url, transport=counter
        ) as client:
            started = time.perf_counter()
            result = client.bulk_delete(distinct_ids=distinct_ids)
            wall = time.perf_counter() - started
    minimum = math.ceil(len(distinct_ids) / 1000)
    return {
        "ids": len(distinct_ids),
        "requests": len(counter.requests),
        "minimum": minimum,
        "wall_s": wall,
        "latency_floor_s": minimum * latency,
        "pacing_floor_s": pacing_floor(minimum),
        "deleted": result.persons_deleted,
    }


def bench_wait(uuids: int, delay: float) -> dict[str, object]:
    with emulator("--persons", str(uuids), "--deletion-delay", str(delay)) as server:
        with PersonsClient(server.api_key, project_id=server.project_id, host=server.url) as client:
            wanted = [p.uuid for p in client.iter_persons(page_size=1000)]
            queued = client.bulk_delete(ids=wanted, delete_events=True).person_uuids
            counter = CountingTransport()
        with PersonsClient(
            server.api_key, project_id=server.project_id, host=server.url, transport=counter
        ) as client:
            result = client.wait_for_deletions(queued, timeout=delay * 4, poll_interval=delay / 3)
    # A round starts with the first page (no offset) of the pending list.
    rounds: list[int] = []
    for _, url in counter.requests:
        if int(url.params.get("offset", "0")) == 0:
            rounds.append(0)
        rounds[-1] += 1
    return {"uuids": len(queued), "rounds": rounds, "done": result.done}


def bench_import() -> float:
    def run(code: str) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    return run("import posthog_persons") - run("pass")


def plot(points: list[tuple[int, int, float, bool]], latency: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    sizes = [p[0] for p in points]
    fig, left = plt.subplots(figsize=(7, 4.2))
    left.plot(sizes, [p[1] for p in points], "o-", color="tab:blue", label="requests")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("persons (distinct ids) to delete")
    left.set_ylabel("bulk_delete requests", color="tab:blue")
    right = left.twinx()
    right.plot(sizes, [p[2] for p in points], "s--", color="tab:red", label="wall time")
    right.set_yscale("log")
    right.set_ylabel("wall time (s)", color="tab:red")
    for size, _, wall, measured in points:
        right.annotate(
            "measured" if measured else "from pacing",
            (size, wall),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, -10),
        )
    left.set_title(
        f"Bulk delete cost vs job size ({latency * 1000:.0f} ms latency, 480/min pacing)"
    )
    fig.tight_layout()
    out = RESULTS / "scaling.png"
    fig.savefig(out, dpi=110)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    persons, delete_ids, latency, wait_uuids = (
        (2_000, 10_000, 0.02, 500) if args.quick else (20_000, 100_000, 0.02, 5_000)
    )
    rows = []
    iterate = bench_iterate(persons)
    rows.append(
        f"| iterate {persons:,} persons | facade {iterate['facade_s']:.2f} s vs raw httpx+json "
        f"{iterate['raw_s']:.2f} s | **{iterate['ratio']:.2f}x** (target <= 1.5x) |"
    )
    rows.append(
        f"| client memory while iterating (tracemalloc) | held {iterate['early_kib']:.0f} KiB "
        f"after {iterate['small']:,} persons, {iterate['late_kib']:.0f} KiB after "
        f"{persons * 9 // 10:,}; "
        f"peak {iterate['peak_kib']:.0f} KiB | flat: about one page held |"
    )
    points: list[tuple[int, int, float, bool]] = []
    for size in sorted({1_000, 10_000, delete_ids}):
        measured = bench_bulk_delete(size, latency)
        points.append((size, int(measured["requests"]), float(measured["wall_s"]), True))
        if size == delete_ids:
            rows.append(
                f"| bulk delete {int(measured['ids']):,} distinct ids at {latency * 1000:.0f} ms "
                f"| {int(measured['requests'])} requests (minimum ceil(N/1000) = "
                f"{int(measured['minimum'])}); {measured['wall_s']:.2f} s | latency floor "
                f"{measured['latency_floor_s']:.1f} s, pacing floor "
                f"{measured['pacing_floor_s']:.0f} s |"
            )
    for size in (1_000_000,):
        requests = math.ceil(size / 1000)
        points.append((size, requests, max(pacing_floor(requests), requests * latency), False))
    wait = bench_wait(wait_uuids, delay=3.0)
    rounds = wait["rounds"]
    assert isinstance(rounds, list)
    rows.append(
        f"| wait_for_deletions, {wait['uuids']:,} UUIDs | requests per polling round: "
        f"{', '.join(str(r) for r in rounds)} | ceil(pending/100) = "
        f"{math.ceil(int(str(wait['uuids'])) / 100)} while all pending; done={wait['done']} |"
    )
    rows.append(f"| cold `import posthog_persons` | {bench_import() * 1000:.0f} ms | median of 7 |")
    table = "\n".join(["| benchmark | result | reference |", "| --- | --- | --- |", *rows])
    image = plot(points, latency)
    RESULTS.mkdir(exist_ok=True)
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    (RESULTS / "results.md").write_text(f"{table}\n\nMeasured on {machine}.\n", encoding="utf-8")
    print(table)
    print(f"\nplot: {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
