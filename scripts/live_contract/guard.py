"""The check touches the named project and nothing else, and only if it is a throwaway one.

Two layers: `GuardTransport` refuses, before it is sent, any request that is not for the named
project's API (`{host}/api/projects/{project_id}/...`) or for capture (`POST
{capture_host}/batch/`); `check_project` refuses a project that holds more than MAX_PERSONS
persons, and a capture token that is not the project's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from .settings import MAX_PERSONS, PROJECT_TOKEN, RefusedError, Settings

CAPTURE_PATH = "/batch/"
_PROJECT_PATH = re.compile(r"^/api/projects/(?P<project>[^/]+)(/.*)?$")


class ForeignRequestError(RefusedError):
    """A request for anything but the named project was about to be sent."""


@dataclass(frozen=True)
class Perimeter:
    """Where the check may send requests."""

    host: str
    project_id: str
    capture_host: str

    @classmethod
    def of(cls, settings: Settings) -> Perimeter:
        return cls(settings.host, settings.project_id, settings.capture_host)

    def check(self, request: httpx.Request) -> None:
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}".lower()
        if origin == self.host:
            found = _PROJECT_PATH.match(url.path)
            if found and found["project"] == self.project_id:
                return
        if origin == self.capture_host and request.method == "POST" and url.path == CAPTURE_PATH:
            return
        # The query string is left out: it never names a project, and may carry ids.
        raise ForeignRequestError(
            f"refused {request.method} {origin}{url.path}: the live check only sends requests "
            f"for project {self.project_id} on {self.host} (and captures on {self.capture_host})"
        )


class GuardTransport(httpx.BaseTransport):
    """Checks each request, then sends it through `inner`, which it shares and never closes:
    every client of a run closes its transport, the run closes `inner` once at the end."""

    def __init__(self, perimeter: Perimeter, inner: httpx.BaseTransport) -> None:
        self.perimeter = perimeter
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.perimeter.check(request)
        return self.inner.handle_request(request)


class AsyncGuardTransport(httpx.AsyncBaseTransport):
    def __init__(self, perimeter: Perimeter, inner: httpx.AsyncBaseTransport) -> None:
        self.perimeter = perimeter
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.perimeter.check(request)
        return await self.inner.handle_async_request(request)


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise RefusedError(f"{what} did not answer JSON (HTTP {response.status_code})") from error


def check_project(client: httpx.Client, settings: Settings) -> str:
    """Refuse anything but a small project the key can read; return its capture token.

    `client` sends to settings.host with the personal API key (through GuardTransport).
    """
    project = f"/api/projects/{settings.project_id}/"
    answer = client.get(project)
    if answer.status_code == 401:
        raise RefusedError("POSTHOG_PERSONAL_API_KEY was refused (HTTP 401)")
    if answer.status_code == 403:
        raise RefusedError(
            f"the key may not read project {settings.project_id} (HTTP 403): it needs the "
            "project:read scope and access to that project"
        )
    if answer.status_code == 404:
        raise RefusedError(f"project {settings.project_id} was not found on {settings.host}")
    if answer.status_code != 200:
        raise RefusedError(f"reading project {settings.project_id} answered {answer.status_code}")
    details = _json(answer, "the project")
    # posthog/api/project.py, ProjectBackwardCompatSerializer: `api_token` is the project
    # token capture authenticates with; events sent with it can only land in this project.
    token = details.get("api_token") if isinstance(details, dict) else None
    if not isinstance(token, str) or not token:
        raise RefusedError(f"project {settings.project_id} did not say its api_token")
    if settings.project_token is not None and settings.project_token != token:
        raise RefusedError(
            f"{PROJECT_TOKEN} is not the token of project {settings.project_id}: events "
            "sent with it would land in another project"
        )
    listing = client.get(f"{project}persons/", params={"limit": MAX_PERSONS + 1})
    if listing.status_code != 200:
        raise RefusedError(
            f"listing the persons of project {settings.project_id} answered {listing.status_code}"
        )
    page = _json(listing, "the persons list")
    held = len(page.get("results", [])) if isinstance(page, dict) else 0
    if held > MAX_PERSONS or (isinstance(page, dict) and page.get("next")):
        raise RefusedError(
            f"project {settings.project_id} holds more than {MAX_PERSONS} persons: the live "
            "check seeds, edits and deletes persons, so it only runs against a throwaway project"
        )
    return token
