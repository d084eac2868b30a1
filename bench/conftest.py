"""`make bench`: collects what the benchmarks measure and writes the report at the end."""

from __future__ import annotations

from typing import Any

import pytest
import report

#: Filled by the benchmarks of this session: "overhead" (a section's text), "erasure" (rows).
MEASURED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def measured() -> dict[str, Any]:
    return MEASURED


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not MEASURED:
        return
    erasure = MEASURED.get("erasure")
    text = report.write(
        MEASURED.get("overhead"),
        report.erasure_section(erasure, MEASURED["latency"]) if erasure else None,
    )
    print(f"\n\n{text}\nwritten to {report.RESULTS} and README.md")
