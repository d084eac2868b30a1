"""What a regeneration run ended in, and how that reaches a person (issue 12, item 1).

`scripts/regenerate.py --outcome FILE` writes one JSON `Outcome`; `scripts/publish_outcome.py`
turns it into GitHub actions through the `gh` command line. The scheduled workflow only calls
the two, so every decision below is tested locally (tests/pipeline/test_outcome.py):

- unchanged: say so in the run's summary; close the open refusal issue, if any (resolved);
- changed: the workflow's create-pull-request step opens or updates the pull request whose
  body is the change report; close the open refusal issue, if any;
- refused / failed: open, or update, the ONE open issue labelled `REFUSAL_LABEL`, with the
  refusal list and the change report of upstream's own change, so nobody has to read a red run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from labelled_issue import Gh, LabelledIssue

from . import PipelineError

Status = Literal["unchanged", "changed", "refused", "failed"]
STATUSES: tuple[Status, ...] = ("unchanged", "changed", "refused", "failed")
REFUSAL_LABEL = "upstream-schema"
REFUSAL_TITLE = (
    "Regeneration refused: the upstream persons API changed in a way the pipeline won't absorb"
)


@dataclass(frozen=True)
class Outcome:
    status: Status
    summary: str
    source: str
    refusals: list[str] = field(default_factory=list)
    report: str = ""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Outcome:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PipelineError(f"cannot read the outcome file {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("status") not in STATUSES:
            raise PipelineError(
                f"{path} is not a regeneration outcome (status must be one of "
                f"{', '.join(STATUSES)})"
            )
        return cls(
            status=data["status"],
            summary=str(data.get("summary", "")),
            source=str(data.get("source", "")),
            refusals=[str(r) for r in data.get("refusals", [])],
            report=str(data.get("report", "")),
        )


def issue_body(outcome: Outcome) -> str:
    """The refusal issue: what was refused and why, then upstream's change."""
    lines = [
        f"The scheduled regeneration from `{outcome.source}` was **{outcome.status}**: "
        f"{outcome.summary}",
        "",
        "Nothing was committed. Fix the overlay (`openapi/overlay.yaml`), the pipeline or the "
        "facade's pins (`src/posthog_persons/_operations.py`), then run `make regenerate` "
        '(see README, "Regenerating the client"). This issue is updated by every refused run '
        "and closed by the first run that succeeds.",
        "",
    ]
    if outcome.refusals:
        lines += ["### What the pipeline refused", "", "```text"]
        lines += [*outcome.refusals, "```", ""]
    if outcome.report:
        lines += ["### Upstream's change (committed snapshot -> new schema)", "", outcome.report]
    return "\n".join(lines).rstrip() + "\n"


def publish(outcome: Outcome, gh: Gh, summary_file: Path | None = None) -> list[str]:
    """Act on `outcome` through `gh`; return what was done, one line each (also printed)."""
    done: list[str] = []
    issue = LabelledIssue(gh, REFUSAL_LABEL, REFUSAL_TITLE, color="B60205")
    existing = issue.find_open()
    if outcome.status in ("refused", "failed"):
        body = issue_body(outcome)
        if existing:
            issue.update(existing, body)
            issue.comment(existing, f"Refused again: {outcome.summary}")
            done.append(f"updated issue #{existing}")
        else:
            done.append(f"opened issue {issue.open(body)}")
    else:
        if outcome.status == "unchanged":
            done.append(f"nothing changed upstream: {outcome.summary}")
        else:
            done.append(f"the client changed: {outcome.summary} (pull request with the report)")
        if existing:
            issue.close(
                existing,
                f"Resolved: the regeneration from `{outcome.source}` succeeds again "
                f"({outcome.status}).",
            )
            done.append(f"closed issue #{existing}")
    if summary_file is not None:
        with summary_file.open("a", encoding="utf-8") as handle:
            handle.write(f"### Regeneration: {outcome.status}\n\n")
            handle.writelines(f"- {line}\n" for line in done)
    return done


def summary_file_from_env() -> Path | None:
    value = os.environ.get("GITHUB_STEP_SUMMARY")
    return Path(value) if value else None
