"""`posthog-persons get` and `posthog-persons lookup`: reading persons by their ids."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from posthog_persons.batching import LOOKUP_BATCH, chunks
from posthog_persons.errors import NotFoundError, PostHogError

from .config import client_from_args
from .exits import CLIError, Exit
from .failures import describe
from .inputs import IdKind, input_of, load_ids
from .progress import Progress
from .records import format_for, output_stream, person_record, writer_for

if TYPE_CHECKING:
    from posthog_persons import Person, PersonsClient

LOOKUP_COLUMNS = ("input", "found", "id", "uuid", "name", "distinct_ids", "created_at")


def find_persons(client: PersonsClient, kind: IdKind, ids: Sequence[str]) -> dict[str, Person]:
    """{id: Person} for the ids found, by the batch lookup of their kind."""
    if kind is IdKind.DISTINCT_ID:
        return client.get_persons_by_distinct_ids(ids)
    return client.get_persons_by_uuids(ids)


def run_get(args: argparse.Namespace) -> Exit:
    with client_from_args(args) as client:
        try:
            if args.distinct_id is not None:
                found = client.get_persons_by_distinct_ids([args.distinct_id])
                if not found:
                    raise CLIError(
                        f"no person has the distinct id {args.distinct_id!r}", Exit.INCOMPLETE
                    )
                person = next(iter(found.values()))
                # The lookup returns a minimal record; fetch the whole person.
                person = client.get_person(person.uuid)
            else:
                person = client.get_person(args.id)
        except NotFoundError as error:
            if error.resource == "project":
                raise CLIError(describe(error)[0], Exit.USAGE) from error
            raise CLIError(
                f"no person with the id {args.id!r} (a numeric id or a UUID; for a distinct id "
                "use --distinct-id)",
                Exit.INCOMPLETE,
            ) from error
        except PostHogError as error:
            message, code = describe(error)
            raise CLIError(message, code) from error
    print(json.dumps(person_record(person), indent=2, ensure_ascii=False))
    return Exit.OK


def run_lookup(args: argparse.Namespace) -> Exit:
    kind, path = input_of(args)
    id_file = load_ids(path, kind=kind, column=args.column, strip_whitespace=args.strip_whitespace)
    for line in id_file.describe():
        print(line, file=sys.stderr)
    if not id_file.ids:
        raise CLIError(f"no valid {kind.noun} in {id_file.source}: nothing to look up")
    fmt = format_for(args.format, args.output)
    found_count = 0
    progress = Progress(sys.stderr, total=len(id_file.ids), unit="ids", label="lookup")
    with client_from_args(args) as client, output_stream(args.output) as stream:
        writer = writer_for(fmt, stream, LOOKUP_COLUMNS)
        try:
            # One lookup request at a time: output and progress follow each answer.
            done = 0
            for chunk in chunks(id_file.ids, LOOKUP_BATCH):
                found = find_persons(client, kind, chunk)
                for value in chunk:
                    person = found.get(value)
                    record: dict[str, Any] = {"input": value, "found": person is not None}
                    if person is not None:
                        found_count += 1
                        record.update(person_record(person))
                    writer.write(record)
                done += len(chunk)
                progress.update(done)
        except PostHogError as error:
            message, code = describe(error, where="looking up ids")
            raise CLIError(message, code) from error
        finally:
            progress.close()
    print(
        f"Found {found_count:,} of {len(id_file.ids):,} {kind.noun} "
        f"({len(id_file.ids) - found_count:,} match no person).",
        file=sys.stderr,
    )
    return Exit.OK
