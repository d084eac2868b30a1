"""Every facade workflow against the recorded answers (tests/cassettes/test_facade_workflows).

The workflows and their checks live in scripts/live_contract/scenarios/workflows.py: the live
contract check runs the very same code against PostHog and against the emulator.
"""

from __future__ import annotations

import pytest
from live_contract.runner import SCENARIOS
from live_contract.scenarios import Context, Scenario
from live_contract.scenarios.workflows import DELETIONS, READS
from replay_support import scenario_id

WORKFLOWS = [*READS, *DELETIONS]


def test_every_workflow_is_part_of_the_live_check() -> None:
    assert {s.cassette for s in WORKFLOWS} <= {s.cassette for s in SCENARIOS}


@pytest.mark.vcr
@pytest.mark.parametrize("scenario", WORKFLOWS, ids=scenario_id)
def test_facade_workflow(scenario: Scenario, replay: Context) -> None:
    scenario.run(replay)
