"""`posthog-persons status`: how far a job's queued event deletions have got.

The server deletes events asynchronously, batched off-peak: it can take days. The job's
person UUIDs come from its journal; the client's `wait_for_deletions` sorts them: completed
(event deletion completed and, unless --keep-person, the person gone), pending, still there,
or unknown (no deletion record at all: reported, exit 1, never assumed done).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from posthog_persons.errors import PostHogError

from .config import make_client, read_api_key
from .exits import CLIError, Exit
from .failures import describe
from .inputs import IdKind
from .journal import JobSpec, JournalState, load
from .progress import format_duration

if TYPE_CHECKING:
    from posthog_persons import DeletionWaitResult, PersonsClient

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


def _line(result: DeletionWaitResult) -> str:
    total = sum(map(len, (result.completed, result.pending, result.unknown, result.still_existing)))
    text = (
        f"Event deletions: {len(result.completed):,} of {total:,} persons completed, "
        f"{len(result.pending):,} pending"
    )
    if result.still_existing:
        text += f", {len(result.still_existing):,} with events deleted but the person still there"
    if result.unknown:
        text += (
            f", {len(result.unknown):,} unknown: the server has no deletion record for them "
            f"(e.g. {', '.join(result.unknown[:3])})"
        )
    return text + "."


def _outcome(result: DeletionWaitResult) -> Exit:
    """Print what the client's wait saw; exit 1 when anything is unknown (never "done")."""
    print(_line(result))
    if result.still_existing:
        print(
            f"{len(result.still_existing):,} persons still exist although their event deletion "
            "is through: the server deletes profiles a little later (persons queued), or "
            'could not delete them (the journal\'s "errors").',
            file=sys.stderr,
        )
    if not result.unknown:
        return Exit.OK
    print(
        f"{len(result.unknown):,} persons have no deletion record: their "
        "event deletion was never queued here, or was queued in another project or host "
        "(check --host and --project-id), or the record was lost. They are not counted as "
        "completed.",
        file=sys.stderr,
    )
    return Exit.INCOMPLETE


def _job_line(state: JournalState, path: Path) -> str:
    spec = state.spec
    noun = IdKind(spec.kind).noun
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
    # One round of the client's wait: how things stand now, nothing waited for.
    result = client.wait_for_deletions(tracked, timeout=0, keep_person=spec.keep_person)
    return _outcome(result)


def _wait(
    client: PersonsClient,
    tracked: list[str],
    spec: JobSpec,
    timeout: float | None,
    poll_interval: float,
) -> Exit:
    limit = DEFAULT_WAIT if timeout is None else timeout
    print(
        f"Waiting up to {format_duration(limit)} for {len(tracked):,} persons' erasure "
        f"(checking every {format_duration(poll_interval)})...",
        file=sys.stderr,
        flush=True,
    )
    # The client's wait says, at each round, how many are still pending: shown, since a
    # wait can take days.
    library = logging.getLogger("posthog_persons")
    if library.getEffectiveLevel() > logging.INFO:
        library.setLevel(logging.INFO)
    result = client.wait_for_deletions(
        tracked, timeout=limit, poll_interval=poll_interval, keep_person=spec.keep_person
    )
    code = _outcome(result)
    if code is Exit.OK and not result.done:
        print(f"Timed out after {format_duration(limit)}; not all erased yet.", file=sys.stderr)
        return Exit.INCOMPLETE
    return code
