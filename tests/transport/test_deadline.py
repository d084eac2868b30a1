"""Issue 11 #8: a whole-request deadline (connect + send + receive), retried like a timeout.

httpx's timeout bounds each read on its own: a server that trickles its answer one byte at a
time never trips it. These tests use such a server on loopback, with deadlines of a fraction
of a second so that they stay fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest
from transport_support import PERSON, elapsed_since, slow_server

from posthog_persons import APITimeoutError, AsyncPersonsClient, PersonsClient
from posthog_persons._transport import DeadlineExceeded, PacedRetryTransport
from posthog_persons.retry import RetryPolicy

KEY = "phx_transport_test_key_0123456789abcdef"
DEADLINE = 0.6
TRICKLE = 0.1  # seconds between bytes: 6 bytes fit in the deadline, the answer is ~200


def sync_client(url: str, **options: object) -> PersonsClient:
    settings: dict[str, object] = {
        "project_id": 1, "host": url, "timeout": DEADLINE, "max_retries": 1,
        "rate_limits": None, "sleep": lambda s: None, **options,
    }  # fmt: skip
    return PersonsClient(KEY, **settings)  # type: ignore[arg-type]


def test_plain_httpx_keeps_reading_a_trickle_past_its_timeout() -> None:
    """The misbehaving server is real: httpx's per-read timeout alone does not stop it."""
    with (
        slow_server("body", 0.05, body=b'{"x": "0123456789012345678901"}') as server,
        httpx.Client(timeout=DEADLINE) as http,
    ):
        started = time.monotonic()
        assert http.get(server.url).json() == {"x": "0123456789012345678901"}
        assert elapsed_since(started) > 1.5 * DEADLINE


@pytest.mark.parametrize("trickle", ["body", "headers"])
def test_a_trickling_answer_fails_at_the_deadline_and_is_retried(trickle: str) -> None:
    with slow_server(trickle, TRICKLE) as server, sync_client(server.url) as client:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as caught:
            client.get_person(1)
        took = elapsed_since(started)
    assert isinstance(caught.value.__cause__, DeadlineExceeded)
    assert f"within {DEADLINE:g}s" in str(caught.value)
    assert server.requests == 2  # the first attempt and its one retry
    # Two attempts of one deadline each (plus connection set-up), not the ~20 s the trickle
    # would take.
    assert 2 * DEADLINE <= took < 2 * DEADLINE + 1.0


def test_an_answer_within_the_deadline_is_read_whole() -> None:
    with slow_server("body", 0.02, body=b'{"id": 7, "uuid": "u-7"}') as server:
        with sync_client(server.url, timeout=2.0) as client:
            assert client.get_person(7).uuid == "u-7"
        assert server.requests == 1


def test_the_retry_gets_a_fresh_deadline_and_succeeds() -> None:
    with slow_server("body", TRICKLE, slow_requests=1) as server, sync_client(server.url) as client:
        started = time.monotonic()
        assert client.get_person(1).uuid == PERSON["uuid"]
        took = elapsed_since(started)
        assert server.requests == 2
        assert DEADLINE <= took < DEADLINE + 0.5
        # The connection cut at the deadline was dropped; the pool's next one serves on.
        assert client.get_person(1).uuid == PERSON["uuid"]
        assert server.requests == 3


def test_an_in_memory_stream_is_checked_between_chunks() -> None:
    """A transport other than httpx's (a mock, an in-process emulator) whose body is slow."""

    class SlowBody(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for _ in range(100):
                time.sleep(0.05)
                yield b" "

    transport = PacedRetryTransport(
        httpx.MockTransport(lambda r: httpx.Response(200, stream=SlowBody())),
        policy=RetryPolicy(max_retries=0), pacer=None, sleep=lambda s: None,
    )  # fmt: skip
    with httpx.Client(transport=transport, timeout=0.3) as http:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            http.get("http://testserver/")
        assert elapsed_since(started) < 0.3 + 0.2


@pytest.mark.parametrize("trickle", ["body", "headers"])
def test_async_a_trickling_answer_fails_at_the_deadline_and_is_retried(trickle: str) -> None:
    async def no_sleep(_seconds: float) -> None:
        return None

    async def main(url: str) -> tuple[BaseException, float]:
        async with AsyncPersonsClient(
            KEY, project_id=1, host=url, timeout=DEADLINE, max_retries=1, rate_limits=None,
            sleep=no_sleep,
        ) as client:  # fmt: skip
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as caught:
                await client.get_person(1)
            return caught.value, elapsed_since(started)

    with slow_server(trickle, TRICKLE) as server:  # type: ignore[arg-type]
        error, took = asyncio.run(main(server.url))
    assert isinstance(error.__cause__, DeadlineExceeded)
    assert server.requests == 2
    assert 2 * DEADLINE <= took < 2 * DEADLINE + 1.0


def test_async_an_answer_within_the_deadline_is_read_whole() -> None:
    async def main(url: str) -> str:
        async with AsyncPersonsClient(
            KEY, project_id=1, host=url, timeout=2.0, rate_limits=None
        ) as client:
            return (await client.get_person(1)).uuid

    with slow_server("body", 0.02, body=b'{"id": 1, "uuid": "u-1"}') as server:
        assert asyncio.run(main(server.url)) == "u-1"
        assert server.requests == 1


@pytest.mark.parametrize("adapter", ["http", "transport"])
def test_the_emulators_trickled_page_fails_at_the_deadline_then_the_walk_goes_on(
    adapter: str,
) -> None:
    """The emulator's own slow body (fake.trickle), over real HTTP and in process: the first
    answer of the list trickles, the retry of that page comes at once."""
    from posthog_persons.testing import FakePostHog

    fake = FakePostHog(30, seed=4, validate=False)
    fake.trickle("persons_list", delay=0.05, chunk=16, times=1)
    with contextlib.ExitStack() as stack:
        if adapter == "http":
            server = stack.enter_context(fake.serve())
            options: dict[str, object] = {"host": server.url}
        else:
            options = {"host": fake.host, "transport": fake.transport()}
        client = stack.enter_context(
            PersonsClient(
                fake.api_key, project_id=fake.project_id, timeout=DEADLINE, max_retries=1,
                rate_limits=None, sleep=lambda s: None, **options,  # type: ignore[arg-type]
            )
        )  # fmt: skip
        started = time.monotonic()
        assert len(list(client.iter_persons(page_size=50))) == 30
        assert DEADLINE <= elapsed_since(started) < DEADLINE + 1.0
    lists = [r for r in fake.requests if r.operation == "persons_list"]
    assert len(lists) == 2  # the trickled answer, then its retry
