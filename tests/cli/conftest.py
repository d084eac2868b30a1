"""Fixtures for the end-to-end tests of the `posthog-persons` console script."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from cli_support import API_KEY, PROJECT_ID, Emulator

from posthog_persons.testing import FakePostHog


@pytest.fixture
def emulator_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Emulator]]:
    """Start emulators serving real HTTP on loopback: `emulator_factory(persons, **options)`."""
    with ExitStack() as stack:

        def start(
            persons: int = 0, *, seed: int = 11, validate: bool = False, **options: Any
        ) -> Emulator:
            # Contract validation is the emulator's own tests' business; here it would only
            # slow down jobs of tens of thousands of persons.
            fake = FakePostHog(
                persons, seed=seed, project_id=PROJECT_ID, api_key=API_KEY, validate=validate,
                **options,
            )  # fmt: skip
            server = stack.enter_context(fake.serve(port=0))
            return Emulator(fake=fake, url=server.url, cache=tmp_path_factory.mktemp("cache"))

        yield start


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A small emulator, with contract checks on: every exchange the CLI makes is validated."""
    return emulator_factory(300, validate=True)
