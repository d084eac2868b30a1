"""A PostHog as the live check sees it, built from the emulator, with no network.

`FakeLive` answers the persons API (the emulator), the project endpoint (`api_token`) and
capture (`POST /batch/`, whose `$identify` events become persons after an ingestion delay on
the emulator's clock), and can be told to answer some operations differently (`rewrite`):
the deliberately different server the differential check must catch. The rewrites act on the
wire, after the emulator answered, rather than through the emulator's own override/transform:
those act at its handlers, so they cannot change a refusal (a 429's headers), and an override
skips the handler's effects (a bulk delete that deletes nothing), which is not what a server
that merely answers differently does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from live_contract.compare import Operations
from live_contract.runner import Live, server_like_emulator
from live_contract.settings import Settings

HOST = "https://live.example"
CAPTURE = "https://capture.live.example"
PROJECT = 4321
PERSONAL_KEY = "phx_live_personal_key_never_recorded_0123"
PROJECT_TOKEN = "phc_live_project_token_never_recorded_0123"

Rewrite = Callable[[httpx.Response], httpx.Response]


def json_rewrite(
    change: Callable[[Any], Any], *, status: int | None = None, when: int | None = None
) -> Rewrite:
    """A rewrite of an answer's JSON body (and optionally its status), of the answers with
    status `when` only if given."""

    def rewrite(response: httpx.Response) -> httpx.Response:
        if when is not None and response.status_code != when:
            return response
        body = change(response.json())
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        return httpx.Response(status or response.status_code, headers=headers, json=body)

    return rewrite


def without_header(name: str) -> Rewrite:
    def rewrite(response: httpx.Response) -> httpx.Response:
        headers = {k: v for k, v in response.headers.items() if k.lower() != name.lower()}
        return httpx.Response(response.status_code, headers=headers, content=response.content)

    return rewrite


class FakeLive:
    def __init__(
        self, persons: list[dict[str, Any]] | int = 0, *, ingest_after: float = 12.0
    ) -> None:
        self.emulator = server_like_emulator(
            persons if isinstance(persons, list) else [],
            host=HOST,
            project_id=PROJECT,
            api_key=PERSONAL_KEY,
        )
        for n in range(persons if isinstance(persons, int) else 0):
            self.emulator.add_person([f"someone-else-{n}"], {"email": f"else{n}@example.com"})
        self.ingest_after = ingest_after
        self.captured: list[dict[str, Any]] = []
        self._queued: list[tuple[float, dict[str, Any]]] = []
        self.rewrites: dict[str, list[Rewrite]] = {}
        self.operations = Operations()
        self.sent: list[httpx.Request] = []

    def settings(self, **env: str) -> Settings:
        return Settings.from_env(
            {
                "POSTHOG_PERSONAL_API_KEY": PERSONAL_KEY,
                "POSTHOG_PROJECT_ID": str(PROJECT),
                "POSTHOG_HOST": HOST,
                "POSTHOG_CAPTURE_HOST": CAPTURE,
                **env,
            }
        )

    def live(self, **env: str) -> Live:
        transport = httpx.MockTransport(self.handle)
        return Live(
            self.settings(**env),
            transport,
            transport,
            sleep=self.emulator.advance,
            clock=self.emulator.now,
        )

    def rewrite(self, operation: str, *changes: Rewrite) -> None:
        """Answer `operation` (an operation id) as the emulator would, then changed."""
        self.rewrites.setdefault(operation, []).extend(changes)

    # ------------------------------------------------------------------ the server

    def _ingest(self) -> None:
        now = self.emulator.now()
        for due, event in [q for q in self._queued if q[0] <= now]:
            self._queued.remove((due, event))
            ids = [event["distinct_id"]]
            anonymous = event["properties"].get("$anon_distinct_id")
            if anonymous:
                ids.append(anonymous)
            self.emulator.add_person(ids, event["properties"].get("$set", {}))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if request.url.host == httpx.URL(CAPTURE).host:
            body = json.loads(request.read())
            assert body["api_key"] == PROJECT_TOKEN, "captured with another project's token"
            self.captured.extend(body["batch"])
            due = self.emulator.now() + self.ingest_after
            self._queued += [(due, event) for event in body["batch"]]
            return httpx.Response(200, json={"status": "Ok"})
        self._ingest()
        if request.url.path == f"/api/projects/{PROJECT}/":
            return httpx.Response(200, json={"id": PROJECT, "api_token": PROJECT_TOKEN})
        response = self.emulator.transport().handle_request(request)
        for change in self.rewrites.get(self.operations.name(request.method, request.url.path), []):
            response = change(response)
        return response
