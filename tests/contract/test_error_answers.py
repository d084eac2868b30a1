"""The error answers against their recordings (tests/cassettes/test_error_answers): statuses,
DRF or `{"error"}` bodies, and the 429 (the only exchange its cassette keeps)."""

from __future__ import annotations

import pytest
from live_contract.scenarios import Context, Scenario
from live_contract.scenarios.errors import ERRORS
from replay_support import scenario_id


@pytest.mark.vcr
@pytest.mark.parametrize("scenario", ERRORS, ids=scenario_id)
def test_error_answer(scenario: Scenario, replay: Context) -> None:
    scenario.run(replay)
