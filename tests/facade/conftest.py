"""Fixtures of the facade tests; the helpers live in facade_support."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from facade_support import FakeClock, Recorder, client_factory

from posthog_persons import AsyncPersonsClient, PersonsClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., tuple[PersonsClient, Recorder]]:
    """make_client(handler, **options) -> (client, recorder); pacing off unless given."""
    opened: list[PersonsClient] = []
    yield client_factory(PersonsClient, clock.sleep, clock, opened)  # type: ignore[misc]
    for client in opened:
        client.close()


@pytest.fixture
def make_async_client(clock: FakeClock) -> Callable[..., tuple[AsyncPersonsClient, Recorder]]:
    """Async twin of make_client (run coroutines with asyncio.run; `async with` closes)."""
    return client_factory(AsyncPersonsClient, clock.asleep, clock, [])
