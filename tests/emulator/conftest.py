"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from posthog_persons.testing import FakePostHog


@pytest.fixture
def fake() -> FakePostHog:
    # Behaviour tests run without contract checks: they pin the server's behaviour as the
    # facts describe it; test_emulator_contract.py checks the same exchanges against the schema.
    return FakePostHog(250, seed=3, validate=False)


@pytest.fixture(params=["transport", "http"])
def api(request: pytest.FixtureRequest, fake: FakePostHog) -> Iterator[httpx.Client]:
    """A client on either adapter: the in-process transport or the loopback HTTP server."""
    if request.param == "transport":
        with fake.client() as client:
            yield client
        return
    with (
        fake.serve() as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {fake.api_key}"}
        ) as client,
    ):
        yield client
