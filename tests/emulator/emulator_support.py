"""Shared constants of the emulator's tests.

A module of its own, not `conftest`: several test folders have a conftest.py, and
`from conftest import ...` picks whichever was imported first when they run together.
"""

from __future__ import annotations

PERSONS = "/api/projects/1/persons/"
