"""Property-based conformance: schemathesis drives the emulator's HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from posthog_persons.testing import EmulatorServer, FakePostHog, find_schema

SCHEMA_PATH = find_schema()
pytestmark = pytest.mark.skipif(SCHEMA_PATH is None, reason="no committed schema yet")


def _load_schema() -> dict[str, Any]:
    if SCHEMA_PATH is None:
        return {"openapi": "3.0.3", "info": {"title": "none", "version": "0"}, "paths": {}}
    raw: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    error = raw["components"]["schemas"].get("ErrorResponse", {})
    if "error" in error.get("required", []):
        # Known overlay bug (reported): upstream's ErrorResponse requires `error`, so every
        # DRF error body would "fail". Relaxed here only, so the run can find anything else.
        error.pop("required")
        error.pop("example", None)
        error["properties"]["error"] = {"type": "string"}
    return raw


schema = schemathesis.openapi.from_dict(_load_schema())


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    fake = FakePostHog(40, seed=2, validate=False)
    with fake.serve() as running:
        yield running


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_emulator_conforms_to_schema(case: schemathesis.Case, server: EmulatorServer) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.fake.api_key}"},
    )
