"""Shared test configuration."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# The regeneration pipeline lives in scripts/ (not shipped); make it importable for its tests.
sys.path.insert(0, str(ROOT / "scripts"))
