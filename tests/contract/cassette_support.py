"""Cassette contract tests (pytest-recording / vcrpy).

Replay (the default, and CI's `--record-mode=none`): requests go to a placeholder host and
vcrpy answers from tests/cassettes/. Recording (`--record-mode=rewrite`): against a real
project when POSTHOG_PERSONAL_API_KEY and POSTHOG_PROJECT_ID are set (and POSTHOG_HOST, else US
cloud), otherwise against the in-process emulator. Recorded hosts and project ids are rewritten
to the placeholders and every secret is scrubbed before anything is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from posthog_persons.testing import FakePostHog

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PLACEHOLDER_HOST = "https://posthog.invalid"
PLACEHOLDER_PROJECT = "1"
# Personal API keys (phx_...) and anything that looks like one in a body or header.
TOKEN = re.compile(r"ph[a-z]_[A-Za-z0-9_-]{8,}")
SECRET_HEADERS = ("authorization", "cookie", "set-cookie", "x-csrftoken")


def _real_target() -> tuple[str, str, str] | None:
    key = os.environ.get("POSTHOG_PERSONAL_API_KEY")
    project = os.environ.get("POSTHOG_PROJECT_ID")
    if key and project:
        host = os.environ.get("POSTHOG_HOST", "https://us.posthog.com").rstrip("/")
        return host, project, key
    return None


def _scrub_text(text: str) -> str:
    real = _real_target()
    if real is not None:
        host, project, _ = real
        text = text.replace(host, PLACEHOLDER_HOST)
        text = re.sub(
            rf"/api/(projects|environments)/{re.escape(project)}/",
            rf"/api/\1/{PLACEHOLDER_PROJECT}/",
            text,
        )
    return TOKEN.sub("phx_REDACTED", text)


def scrub_request(request: Any) -> Any:
    request.uri = _scrub_text(request.uri)
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            del request.headers[name]
    if request.body:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        request.body = _scrub_text(body).encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        name: value
        for name, value in response["headers"].items()
        if name.lower() not in SECRET_HEADERS
    }
    body = response.get("body", {}).get("string")
    if body:
        text = body.decode() if isinstance(body, bytes) else body
        response["body"]["string"] = _scrub_text(text).encode()
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": list(SECRET_HEADERS),
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "decode_compressed_response": True,
    }


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


@dataclass
class Target:
    """Where a contract test sends its requests.

    Tests discover the ids they use through the API (recorded in the same cassette), so the
    same test replays, records against the emulator, or records against a real project.
    Recording against a real project deletes persons: use a throwaway project.
    """

    host: str
    project_id: str
    api_key: str
    transport: httpx.BaseTransport | None
    async_transport: httpx.AsyncBaseTransport | None = None

    def httpx_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.host,
            transport=self.transport,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )


@pytest.fixture
def target(record_mode: str) -> Iterator[Target]:
    if record_mode == "none":
        yield Target(PLACEHOLDER_HOST, PLACEHOLDER_PROJECT, "phx_replay_only", None, None)
        return
    real = _real_target()
    if real is not None:
        yield Target(*real, None, None)
        return
    fake = FakePostHog(persons=40, seed=11, host=PLACEHOLDER_HOST, deletion_delay=0.05)
    # vcrpy intercepts httpx's own transport classes only, so the emulator's handler is
    # wrapped in a MockTransport to be recorded.
    transport = httpx.MockTransport(fake.transport().handle_request)
    async_transport = httpx.MockTransport(fake.async_transport().handle_async_request)
    yield Target(PLACEHOLDER_HOST, str(fake.project_id), fake.api_key, transport, async_transport)
    assert fake.contract_errors == []
