"""`posthog-persons status`: how far a job's queued event deletions have got.

The server deletes events asynchronously, batched off-peak: it can take days. The job's
person UUIDs come from its journal and are compared with the server's deletion records: a
person is completed only when a completed record says so; with no record at all it is
"unknown" (reported, exit 1), never assumed done.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from posthog_persons.errors import PostHogError

from .config import make_client, read_api_key
from .exits import CLIError, Exit
from .failures import describe
from .journal import JobSpec, JournalState, load
from .progress import format_duration

if TYPE_CHECKING:
    from posthog_persons import PersonsClient

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Without --timeout, --wait waits this long: event deletions historically run weekly.
DEFAULT_WAIT = 8 * 86400.0


def duration(text: str) -> float:
    """`90`, `90s`, `30m`, `2h`, `7d` as seconds (an argparse type)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 30m, 2h or 7d)")
    return float(match[1]) * _UNITS[match[2].lower()]


def _client(args: argparse.Namespace, state: JournalState) -> PersonsClient:
    """The journal's host and project unless flags say otherwise."""
    project = getattr(args, "project_id", None)
    environment = getattr(args, "environment_id", None)
    if project is None and environment is None:
        project = state.spec.project_id
    return make_client(
        read_api_key(args),
        host=getattr(args, "host", None) or state.spec.host,
        project_id=project,
        environment_id=environment,
        pacer=args.pacer,
    )


@dataclass
class Progress:
    """Where each tracked person's event deletion stands, by the server's records."""

    completed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    # No record at all: never queued, queued in another project, or the record was lost.
    # Never counted as completed: nothing says those events are gone.
    unknown: list[str] = field(default_factory=list)
    oldest_pending: datetime | None = None

    @property
    def total(self) -> int:
        return len(self.completed) + len(self.pending) + len(self.unknown)

    def line(self) -> str:
        text = (
            f"Event deletions: {len(self.completed):,} of {self.total:,} persons completed, "
            f"{len(self.pending):,} pending"
        )
        if self.oldest_pending is not None:
            age = format_duration(time.time() - self.oldest_pending.timestamp())
            text += f" (oldest pending queued {self.oldest_pending.isoformat()}, {age} ago)"
        if self.unknown:
            text += (
                f", {len(self.unknown):,} unknown: the server has no deletion record for them "
                f"(e.g. {', '.join(self.unknown[:3])})"
            )
        return text + "."


def _progress(client: PersonsClient, tracked: list[str]) -> Progress:
    """One read of the deletion records of `tracked` (every status)."""
    pending: dict[str, datetime | None] = {}
    completed: set[str] = set()
    for row in client.deletion_status(person_uuids=tracked, status="all"):
        if row.status == "completed":
            completed.add(row.person_uuid)
        elif row.status == "pending":
            pending.setdefault(row.person_uuid, row.created_at)
    result = Progress()
    for uuid in tracked:
        if uuid in completed:
            result.completed.append(uuid)
        elif uuid in pending:
            result.pending.append(uuid)
            queued = pending[uuid]
            if queued is not None and (
                result.oldest_pending is None or queued < result.oldest_pending
            ):
                result.oldest_pending = queued
        else:
            result.unknown.append(uuid)
    return result


def _unknown_note(progress: Progress, spec: JobSpec) -> None:
    matched_nobody = (
        " (a UUID of the input that matched no person has none: the server never says which did)"
        if spec.kind == "ids"
        else ""
    )
    print(
        f"{len(progress.unknown):,} persons have no deletion record{matched_nobody}: their "
        "event deletion was never queued here, or was queued in another project or host "
        "(check --host and --project-id), or the record was lost. They are not counted as "
        "completed.",
        file=sys.stderr,
    )


def _job_line(state: JournalState, path: Path) -> str:
    spec = state.spec
    noun = "distinct ids" if spec.kind == "distinct_ids" else "person UUIDs"
    totals = state.totals()
    where = "complete" if state.complete else f"NOT complete (resume it: {path})"
    return (
        f"Job {path}: {state.ids_done:,} of {spec.total:,} {noun} processed, "
        f"{totals['deleted']:,} persons deleted; {where}."
    )


def run(args: argparse.Namespace) -> Exit:
    path = Path(args.journal)
    state = load(path)
    print(_job_line(state, path))
    if not state.spec.delete_events:
        print("This job did not ask for event deletion (--delete-events): nothing to track.")
        return Exit.OK
    tracked = list(dict.fromkeys(state.all_tracked()))
    if not tracked:
        print("No person's event deletion was queued by this job yet.")
        return Exit.OK
    with _client(args, state) as client:
        try:
            if args.wait:
                return _wait(client, tracked, state.spec, args.timeout, args.poll_interval)
            return _show(client, tracked, state.spec)
        except PostHogError as error:
            message, code = describe(error, where="reading the deletion status")
            raise CLIError(message, code) from error


def _show(client: PersonsClient, tracked: list[str], spec: JobSpec) -> Exit:
    progress = _progress(client, tracked)
    print(progress.line())
    if progress.unknown:
        _unknown_note(progress, spec)
        return Exit.INCOMPLETE
    return Exit.OK


def _wait(
    client: PersonsClient,
    tracked: list[str],
    spec: JobSpec,
    timeout: float | None,
    poll_interval: float,
) -> Exit:
    limit = DEFAULT_WAIT if timeout is None else timeout
    print(
        f"Waiting up to {format_duration(limit)} for {len(tracked):,} event deletions "
        f"(checking every {format_duration(poll_interval)})...",
        file=sys.stderr,
        flush=True,
    )
    # The client's wait says, at each round, how many are still pending: shown, since a
    # wait can take days.
    library = logging.getLogger("posthog_persons")
    if library.getEffectiveLevel() > logging.INFO:
        library.setLevel(logging.INFO)
    result = client.wait_for_deletions(tracked, timeout=limit, poll_interval=poll_interval)
    progress = _progress(client, tracked)
    print(progress.line())
    if progress.unknown:
        _unknown_note(progress, spec)
        return Exit.INCOMPLETE
    if not result.done or progress.pending:
        print(f"Timed out after {format_duration(limit)}; still pending.", file=sys.stderr)
        return Exit.INCOMPLETE
    return Exit.OK
