"""The README's code runs: its erasure example and its emulator example, as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from posthog_persons.testing import FakePostHog

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def block_containing(text: str) -> str:
    (block,) = [b for b in PYTHON_BLOCKS if text in b]
    return block


def test_the_erasure_example_erases_and_waits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakePostHog(persons=50, seed=3, deletion_delay=0.0)
    legacy = [
        fake.add_person([f"legacy-{n}", f"legacy-{n}@example.com"], {"plan": "legacy"})
        for n in range(30)
    ]
    with fake.serve(port=0) as server:
        monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", fake.api_key)
        monkeypatch.setenv("POSTHOG_PROJECT_ID", str(fake.project_id))
        monkeypatch.setenv("POSTHOG_HOST", server.url)
        exec(compile(block_containing("wait_for_deletions"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "30 deleted; 0 could not be deleted" in out
    assert "30 completed, 0 pending, done=True" in out
    remaining = {p["uuid"] for p in fake.persons}
    assert not remaining & {p["uuid"] for p in legacy}
    assert len(remaining) == 50


def test_the_emulator_example_runs() -> None:
    exec(compile(block_containing("FakePostHog(persons=1000"), "README.md", "exec"), {})
