"""One GitHub issue says whether the emulator still answers like PostHog.

Opened when a run finds divergences (or cannot run at all: a check that silently stops
checking is worse than none), updated by later runs while the problem lasts, closed with a
comment by the first run that finds none. Uses the REST API with the workflow's GITHUB_TOKEN.
"""

from __future__ import annotations

from typing import Any

import httpx

LABEL = "live-contract"
TITLE = "Live contract check: the emulator and PostHog disagree"
API = "https://api.github.com"
# GitHub refuses issue bodies over 65,536 characters.
MAX_BODY = 65_000


def _body(text: str, run_url: str | None) -> str:
    footer = f"\n\n_Run: {run_url}_\n" if run_url else ""
    if len(text) + len(footer) > MAX_BODY:
        cut = MAX_BODY - len(footer) - 200
        text = text[:cut] + "\n\n... (cut: the whole report is in the run's artifacts)"
    return text + footer


def publish(
    report: str | None,
    *,
    repository: str,
    token: str,
    run_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """`report` is the issue body when something is wrong, None when all agreed.

    Returns what was done, e.g. "opened #12", "updated #12", "closed #12", "nothing to do".
    """
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with httpx.Client(base_url=API, headers=headers, transport=transport, timeout=30) as gh:
        listing = gh.get(
            f"/repos/{repository}/issues",
            params={"state": "open", "labels": LABEL, "per_page": 20},
        )
        listing.raise_for_status()
        # The issues endpoint lists pull requests too.
        mine: list[dict[str, Any]] = [i for i in listing.json() if "pull_request" not in i]
        existing = min((i["number"] for i in mine), default=None)
        if report is not None:
            body = _body(report, run_url)
            if existing is None:
                created = gh.post(
                    f"/repos/{repository}/issues",
                    json={"title": TITLE, "body": body, "labels": [LABEL]},
                )
                created.raise_for_status()
                return f"opened #{created.json()['number']}"
            gh.patch(
                f"/repos/{repository}/issues/{existing}", json={"body": body}
            ).raise_for_status()
            return f"updated #{existing}"
        if existing is None:
            return "nothing to do"
        comment = "The emulator answered every recorded call as PostHog did; closing."
        if run_url:
            comment += f" Run: {run_url}"
        gh.post(
            f"/repos/{repository}/issues/{existing}/comments", json={"body": comment}
        ).raise_for_status()
        gh.patch(
            f"/repos/{repository}/issues/{existing}", json={"state": "closed"}
        ).raise_for_status()
        return f"closed #{existing}"
