"""Fixtures of the transport tests (pacing, retries, the request deadline, pagination)."""

from __future__ import annotations

import sys
from pathlib import Path

# The benchmarks' simulated clock (bench/simulation.py) serves the pacing tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
