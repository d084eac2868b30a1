"""Replaying the committed cassettes (tests/cassettes) with pytest-recording.

Each test runs one scenario of scripts/live_contract against the placeholder host; vcrpy
answers every request from the scenario's cassette, matched on method, URL and body, so a
scenario that sends anything it did not send when recorded fails. The cassettes are written
by scripts/live_contract.py only (`record-emulator`, or `run --update-cassettes` against
PostHog), with the same vcrpy settings as here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_contract.recording import PLACEHOLDER_HOST, PLACEHOLDER_PROJECT
from live_contract.recording import vcr_config as _config
from live_contract.scenarios import Context, Scenario, Target
from live_contract.seeding import SeedPlan

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


def _cassette(request: pytest.FixtureRequest) -> Path:
    """The cassette of the scenario a test replays (pytest-recording asks every test)."""
    callspec = getattr(request.node, "callspec", None)
    scenario = callspec.params.get("scenario") if callspec else None
    if isinstance(scenario, Scenario):
        return CASSETTES / scenario.cassette
    return CASSETTES / f"{request.node.name}.yaml"


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return _config()


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(_cassette(request).parent)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    return _cassette(request).stem


@pytest.fixture
def replay(record_mode: str) -> Context:
    if record_mode != "none":
        pytest.fail(
            "the cassettes are recorded by scripts/live_contract.py (record-emulator, or run "
            "--update-cassettes against PostHog), not by pytest"
        )
    target = Target("replay", PLACEHOLDER_HOST, PLACEHOLDER_PROJECT, "phx_replay_only")
    return Context(target, SeedPlan.load(CASSETTES))


def scenario_id(scenario: Scenario) -> str:
    return scenario.name
