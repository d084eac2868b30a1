"""Every generated operation against its recorded answer
(tests/cassettes/test_generated_operations): a documented success status, parsed.

The calls live in scripts/live_contract/scenarios/operations.py; test_cassettes.py validates
every recorded exchange against the committed schema.
"""

from __future__ import annotations

import pytest
from live_contract.scenarios import Context, Scenario
from live_contract.scenarios.operations import CALLS, OPERATIONS, generated_modules
from replay_support import scenario_id


def test_every_generated_operation_has_a_contract_call() -> None:
    assert set(generated_modules()) == set(CALLS)


@pytest.mark.vcr
@pytest.mark.parametrize("scenario", OPERATIONS, ids=scenario_id)
def test_generated_operation(scenario: Scenario, replay: Context) -> None:
    scenario.run(replay)
