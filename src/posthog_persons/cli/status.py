"""`posthog-persons status`: how far a job's queued event deletions have got.

The server deletes events asynchronously, batched off-peak: it can take days. The job's
person UUIDs come from its journal; the pending list is read page by page and compared, so
a check costs about one request per hundred pending deletions in the project, whatever the
size of the job.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from posthog_persons.errors import PostHogError

from .config import make_client, read_api_key
from .exits import CLIError, Exit
from .failures import describe
from .journal import JournalState, load
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
    spec = state.spec
    project = getattr(args, "project_id", None)
    environment = getattr(args, "environment_id", None)
    if project is None and environment is None:
        if spec.scope == "projects":
            project = spec.project_id
        else:
            environment = spec.project_id
    return make_client(
        read_api_key(args),
        host=getattr(args, "host", None) or spec.host,
        project_id=project,
        environment_id=environment,
    )


def _pending(client: PersonsClient, tracked: set[str]) -> tuple[int, datetime | None]:
    """How many of `tracked` are pending, and when the oldest of them was queued."""
    count = 0
    oldest: datetime | None = None
    for row in client.deletion_status(status="pending"):
        if row.person_uuid in tracked:
            count += 1
            if row.created_at is not None and (oldest is None or row.created_at < oldest):
                oldest = row.created_at
    return count, oldest


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
    if not path.is_file():
        raise CLIError(f"journal not found: {path}")
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
                return _wait(client, tracked, args.timeout, args.poll_interval)
            return _show(client, tracked)
        except PostHogError as error:
            message, code = describe(error, where="reading the deletion status")
            raise CLIError(message, code) from error


def _show(client: PersonsClient, tracked: list[str]) -> Exit:
    pending, oldest = _pending(client, set(tracked))
    print(_status_line(len(tracked), pending, oldest))
    return Exit.OK


def _status_line(total: int, pending: int, oldest: datetime | None) -> str:
    line = (
        f"Event deletions: {total - pending:,} of {total:,} persons completed, {pending:,} pending"
    )
    if oldest is not None:
        age = format_duration(time.time() - oldest.timestamp())
        line += f" (oldest pending queued {oldest.isoformat()}, {age} ago)"
    return line + "."


def _wait(
    client: PersonsClient, tracked: list[str], timeout: float | None, poll_interval: float
) -> Exit:
    limit = DEFAULT_WAIT if timeout is None else timeout
    deadline = time.monotonic() + limit
    print(
        f"Waiting up to {format_duration(limit)} for {len(tracked):,} event deletions "
        f"(checking every {format_duration(poll_interval)})...",
        file=sys.stderr,
        flush=True,
    )
    pending = list(tracked)
    while True:
        # One round of the facade's wait at a time (timeout=0: a single scan of the pending
        # list), so that progress can be shown between rounds of a wait that takes days.
        result = client.wait_for_deletions(pending, timeout=0, poll_interval=poll_interval)
        pending = list(result.pending)
        if result.done:
            print(_status_line(len(tracked), 0, None))
            return Exit.OK
        left = deadline - time.monotonic()
        if left <= 0:
            count, oldest = _pending(client, set(pending))
            print(_status_line(len(tracked), count, oldest))
            print(f"Timed out after {format_duration(limit)}; still pending.", file=sys.stderr)
            return Exit.INCOMPLETE
        print(
            f"status: {len(tracked) - len(pending):,} of {len(tracked):,} completed, "
            f"{len(pending):,} pending; next check in {format_duration(min(poll_interval, left))}",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(min(poll_interval, left))
