"""Fixtures of the transport tests (pacing, retries, the request deadline, pagination)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# The benchmarks' simulated clock (bench/simulation.py) serves the pacing tests too, and the
# facade tests' fake clock (tests/facade/facade_support.py) the retry tests.
sys.path[:0] = [str(TESTS.parent / "bench"), str(TESTS / "facade")]
