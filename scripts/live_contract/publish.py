"""One GitHub issue says whether the emulator still answers like PostHog.

Opened when a run finds divergences (or cannot run at all: a check that silently stops
checking is worse than none), updated by later runs while the problem lasts, closed with a
comment by the first run that finds none. Kept through labelled_issue (the `gh` command line,
with the workflow's GITHUB_TOKEN), like the regeneration's refusal issue.
"""

from __future__ import annotations

from labelled_issue import Gh, LabelledIssue

LABEL = "live-contract"
TITLE = "Live contract check: the emulator and PostHog disagree"
# GitHub refuses issue bodies over 65,536 characters.
MAX_BODY = 65_000


def _body(text: str, run_url: str | None) -> str:
    footer = f"\n\n_Run: {run_url}_\n" if run_url else ""
    if len(text) + len(footer) > MAX_BODY:
        cut = MAX_BODY - len(footer) - 200
        text = text[:cut] + "\n\n... (cut: the whole report is in the run's artifacts)"
    return text + footer


def publish(report: str | None, gh: Gh, run_url: str | None = None) -> str:
    """`report` is the issue body when something is wrong, None when all agreed.

    Returns what was done, e.g. "opened #12", "updated #12", "closed #12", "nothing to do".
    """
    issue = LabelledIssue(gh, LABEL, TITLE, color="D93F0B")
    existing = issue.find_open()
    if report is not None:
        body = _body(report, run_url)
        if existing is None:
            return f"opened #{issue.open(body).rsplit('/', 1)[-1]}"
        issue.update(existing, body)
        return f"updated #{existing}"
    if existing is None:
        return "nothing to do"
    comment = "The emulator answered every recorded call as PostHog did; closing."
    if run_url:
        comment += f" Run: {run_url}"
    issue.close(existing, comment)
    return f"closed #{existing}"
