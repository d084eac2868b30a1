"""What the live check needs from the environment; refused, naming what is missing, up front."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

REQUIRED = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_PROJECT_ID", "POSTHOG_HOST")
# The project token (phc_...) capture takes. Optional: the check reads the project's own token
# from the project (GET /api/projects/{id}/, field api_token); when this is set, it must match.
PROJECT_TOKEN = "POSTHOG_PROJECT_API_KEY"
CAPTURE_HOST = "POSTHOG_CAPTURE_HOST"
# A throwaway project holds the few persons a run seeds and what earlier runs left; anything
# bigger is someone's data and the check refuses it. Deliberately not a setting.
MAX_PERSONS = 50
# PostHog Cloud ingests on *.i.posthog.com, not on the app host
# (https://posthog.com/docs/api/capture: "https://us.i.posthog.com for US Cloud,
# https://eu.i.posthog.com for EU Cloud, and your self-hosted domain for self-hosted").
_CLOUD_CAPTURE_HOSTS = {
    "us.posthog.com": "us.i.posthog.com",
    "app.posthog.com": "us.i.posthog.com",
    "eu.posthog.com": "eu.i.posthog.com",
}


class RefusedError(Exception):
    """The check will not run (or stops) before touching anything it should not."""


def _origin(name: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedError(f"{name} must be a base URL like https://us.posthog.com; got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise RefusedError(f"{name} must be a bare base URL (no path or query); got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class Settings:
    host: str
    project_id: str
    # repr=False: a printed Settings never shows a credential.
    api_key: str = field(repr=False)
    capture_host: str
    project_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise RefusedError(
                "the live contract check needs " + ", ".join(missing) + " (a personal API key "
                "of a throwaway project, that project's id, and its host)"
            )
        project_id = env["POSTHOG_PROJECT_ID"].strip()
        if not project_id.isdigit():
            raise RefusedError(
                f"POSTHOG_PROJECT_ID must be a numeric project id; got {project_id!r}"
            )
        host = _origin("POSTHOG_HOST", env["POSTHOG_HOST"])
        hostname = urlsplit(host).hostname or ""
        capture = env.get(CAPTURE_HOST, "").strip()
        if capture:
            capture_host = _origin(CAPTURE_HOST, capture)
        elif hostname in _CLOUD_CAPTURE_HOSTS:
            capture_host = f"https://{_CLOUD_CAPTURE_HOSTS[hostname]}"
        else:
            capture_host = host
        token = env.get(PROJECT_TOKEN, "").strip()
        return cls(
            host=host,
            project_id=project_id,
            api_key=env["POSTHOG_PERSONAL_API_KEY"].strip(),
            capture_host=capture_host,
            project_token=token or None,
        )
