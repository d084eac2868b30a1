"""`posthog-persons export`: every matching person, streamed page by page in constant memory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from posthog_persons.errors import PostHogError

from .config import client_from_args
from .exits import CLIError, Exit
from .failures import describe
from .progress import Progress
from .records import format_for, output_stream, person_record, writer_for


def property_filter(text: str) -> dict[str, Any]:
    """`key=value` as the server's person property filter (an argparse type)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return {"key": key.strip(), "value": value, "operator": "exact", "type": "person"}


def run(args: argparse.Namespace) -> Exit:
    fmt = format_for(args.format, args.output)
    count = 0
    progress = Progress(sys.stderr, total=None, unit="persons", label="export")
    with client_from_args(args) as client, output_stream(args.output) as stream:
        writer = writer_for(fmt, stream)
        try:
            for person in client.iter_persons(
                search=args.search,
                email=args.email,
                distinct_id=args.distinct_id,
                properties=args.property or None,
                page_size=args.page_size,
            ):
                writer.write(person_record(person))
                count += 1
                progress.update(count)
        except PostHogError as error:
            message, code = describe(error, where=f"after {count:,} persons")
            if args.output in (None, "-"):
                outcome = f"; the {count:,} persons written to standard output are incomplete"
            else:
                outcome = f"; {args.output} was not written"
            raise CLIError(message + outcome, code) from error
        finally:
            progress.close()
    where = f" to {args.output}" if args.output not in (None, "-") else ""
    noun = "person" if count == 1 else "persons"
    print(f"Exported {count:,} {noun}{where} ({fmt}).", file=sys.stderr)
    return Exit.OK
