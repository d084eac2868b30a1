"""The emulator's own API: generation, helpers, request log, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from emulator_support import PERSONS

from posthog_persons.testing import DEFAULT_API_KEY, FakePostHog

SRC = Path(__file__).resolve().parents[2] / "src"


def test_generation_is_deterministic_and_realistic() -> None:
    first = FakePostHog(300, seed=9, validate=False).persons
    assert first == FakePostHog(300, seed=9, validate=False).persons
    assert first != FakePostHog(300, seed=10, validate=False).persons
    assert sorted(p["id"] for p in first) == list(range(1, 301))
    assert all(1 <= len(p["distinct_ids"]) <= 3 for p in first)
    assert len({d for p in first for d in p["distinct_ids"]}) == sum(
        len(p["distinct_ids"]) for p in first
    )
    emails = [p for p in first if "email" in p["properties"]]
    assert 150 < len(emails) < 280
    assert all(p["name"] == p["properties"]["email"] for p in emails)
    assert all(p["name"] == p["distinct_ids"][0] for p in first if p not in emails)
    for person in first:
        datetime.fromisoformat(person["created_at"])
        dids = person["distinct_ids"]
        anonymous = [len(d) == 36 and d.count("-") == 4 for d in dids]
        assert anonymous == sorted(anonymous), "anonymous ids must sort last"
    assert len({p["created_at"][:7] for p in first}) > 1


def test_persons_from_records_and_add_person() -> None:
    fake = FakePostHog(
        [
            {
                "distinct_ids": ["a", "0b1c8e8e-8d6f-4a57-9a53-6f0a5e8f0c11"],
                "properties": {"name": "A"},
            }
        ],
        validate=False,
    )
    added = fake.add_person(
        ["b"], {"username": "bee"}, created_at="2020-01-01T00:00:00Z", uuid=None
    )
    assert added["name"] == "bee"
    assert [p["name"] for p in fake.persons] == ["A", "bee"]
    with pytest.raises(ValueError):
        fake.add_person(["a"])
    assert fake.get_person("b") == added
    assert fake.get_person(added["uuid"]) == added
    assert fake.get_person(12345) is None


def test_request_log_redacts_the_key_and_repr_hides_it() -> None:
    fake = FakePostHog(2, validate=False, api_key="phx_secret_value")
    with fake.client() as client:
        client.post(f"{PERSONS}bulk_delete/?x=1", json={"distinct_ids": ["a"]})
        client.get(PERSONS, headers={"Authorization": "Bearer phx_wrong_secret"})
    first, second = fake.requests
    assert first.method == "POST" and first.path == f"{PERSONS}bulk_delete/"
    assert first.query == {"x": ["1"]}
    assert first.body == {"distinct_ids": ["a"]}
    assert first.headers["authorization"] == "Bearer ***"
    # Operations are named by their upstream operation id.
    assert (first.authorized, first.status) == (True, 202)
    assert first.operation == "persons_bulk_delete_create"
    assert second.operation == "persons_list"
    assert second.authorized is False and second.status == 401
    everything = repr(fake) + repr(fake.requests)
    assert "phx_secret_value" not in everything
    assert "phx_wrong_secret" not in everything
    fake.clear_requests()
    assert fake.requests == []


def test_absolute_urls_follow_the_request_host() -> None:
    fake = FakePostHog(5, validate=False, host="https://eu.example.test")
    with fake.client() as client:
        assert (
            client.get(PERSONS, params={"limit": 2})
            .json()["next"]
            .startswith("https://eu.example.test/api/")
        )


def test_cli_prints_a_url_that_answers() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posthog_persons.testing",
            "--port",
            "0",
            "--persons",
            "120",
            "--seed",
            "4",
            "--no-validate",
            "--throttle",
            "--queued-deletion",
            "--queued-deletion-delay",
            "3600",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().split(" ", 1) for _ in range(3))
        url, key = lines["URL"].strip(), lines["API_KEY"].strip()
        assert key == DEFAULT_API_KEY and lines["PROJECT_ID"].strip() == "1"
        response = httpx.get(
            f"{url}/api/projects/1/persons/", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200
        assert response.json()["next"].startswith(url)
        target = response.json()["results"][0]["uuid"]
        summary = httpx.post(
            f"{url}/api/projects/1/persons/bulk_delete/",
            headers={"Authorization": f"Bearer {key}"},
            json={"ids": [target]},
        ).json()
        assert (summary["persons_deleted"], summary["persons_queued_for_deletion"]) == (0, 1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
