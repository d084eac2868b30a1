"""Iteration overhead: the facade's `iter_persons` against a hand-written httpx + json loop.

Both walk the same precomputed pages (bench/static_server.py), alternately, several times; the
best run of each counts (the least disturbed by the other jobs on the machine). Two servers:
the static server in its own process over loopback HTTP (the headline: a real HTTP exchange
whose server side costs next to nothing), and the same pages from an in-process
httpx.MockTransport (no sockets at all: the harshest view of the client's own cost).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx
from static_server import API_KEY, PROJECT_ID, Pages

from posthog_persons import PersonsClient

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 100


@attrs.frozen
class Server:
    url: str
    transport: Callable[[], httpx.BaseTransport] | None = None  # None: real HTTP


@contextmanager
def loopback_server(persons: int) -> Iterator[Server]:
    """The static server in its own process."""
    command = [sys.executable, str(HERE / "static_server.py"), str(persons)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if line[:1] != ["URL"]:
            raise RuntimeError(f"the static server did not start: {line}")
        yield Server(line[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def in_process_server(persons: int) -> Iterator[Server]:
    """The same pages from an httpx.MockTransport."""
    url = "http://static.test"
    pages = Pages(url, persons)

    def answer(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        raw = pages.answer(int(query["limit"][0]), int(query.get("offset", ["0"])[0]))
        body = raw[raw.index(b"\r\n\r\n") + 4 :]
        return httpx.Response(200, headers={"Content-Type": "application/json"}, content=body)

    yield Server(url, lambda: httpx.MockTransport(answer))


def _transport(server: Server) -> dict[str, Any]:
    return {} if server.transport is None else {"transport": server.transport()}


def raw_iterate(server: Server) -> int:
    """The hand-written baseline: httpx + json, following `next`."""
    seen = 0
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url: str | None = f"{server.url}/api/projects/{PROJECT_ID}/persons/?limit={PAGE_SIZE}"
    with httpx.Client(headers=headers, **_transport(server)) as client:
        while url:
            page = client.get(url).json()
            seen += len(page["results"])
            url = page["next"]
    return seen


def _client(server: Server) -> PersonsClient:
    return PersonsClient(API_KEY, project_id=PROJECT_ID, host=server.url, **_transport(server))


def facade_iterate(server: Server) -> int:
    seen = 0
    with _client(server) as client:
        for _ in client.iter_persons(page_size=PAGE_SIZE):
            seen += 1
    return seen


@attrs.frozen
class Overhead:
    """Best wall-clock and best CPU time (this process's) of each loop."""

    persons: int
    runs: int
    raw_s: float
    facade_s: float
    raw_cpu_s: float
    facade_cpu_s: float

    @property
    def ratio(self) -> float:
        return self.facade_s / self.raw_s

    @property
    def cpu_ratio(self) -> float:
        return self.facade_cpu_s / self.raw_cpu_s


def measure(server: Server, persons: int, runs: int) -> Overhead:
    """Best of `runs` alternating runs of each loop (after one warm-up run of each)."""
    raw_iterate(server)
    facade_iterate(server)
    wall: dict[str, list[float]] = {"raw": [], "facade": []}
    cpu: dict[str, list[float]] = {"raw": [], "facade": []}
    for _ in range(runs):
        for name, loop in (("raw", raw_iterate), ("facade", facade_iterate)):
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            assert loop(server) == persons
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return Overhead(
        persons, runs, min(wall["raw"]), min(wall["facade"]), min(cpu["raw"]), min(cpu["facade"])
    )


@attrs.frozen
class Memory:
    early_kib: float  # held after 10% of the persons
    late_kib: float  # held after 90%
    peak_kib: float
    early_at: int
    late_at: int


def memory_while_iterating(server: Server, persons: int) -> Memory:
    """Memory the client holds (tracemalloc) while its iterator is alive: flat means about one
    page, whatever the number of persons already yielded."""
    early_at, late_at = persons // 10, persons * 9 // 10
    with _client(server) as client:
        iterator = client.iter_persons(page_size=PAGE_SIZE)
        next(iterator)  # imports and connection set-up are not per-person costs
        gc.collect()
        tracemalloc.start()
        early = late = 0
        for seen, _ in enumerate(iterator, start=2):
            if seen in (early_at, late_at):
                gc.collect()
                late = tracemalloc.get_traced_memory()[0]
                early = early or late
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Memory(early / 1024, late / 1024, peak / 1024, early_at, late_at)


def profile(server: Server, top: int = 25) -> str:
    """cProfile of one facade walk: the functions that cost most, cumulative and own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    facade_iterate(server)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()
