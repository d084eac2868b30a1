"""The argument parser, logging, and `main`: every failure ends as one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from posthog_persons.batching import BULK_DELETE_BATCH, LOOKUP_BATCH
from posthog_persons.errors import PostHogError
from posthog_persons.pacing import DEFAULT_RATE_LIMITS, Pacer

from . import delete, export, lookup, status
from .config import KEY_ENV, redact
from .exits import CLIError, Exit
from .failures import describe

PROG = "posthog-persons"

_MAIN_EPILOG = f"""\
key, host and project:
  The personal API key (phx_..., scopes person:read and person:write) is read from
  {KEY_ENV} or from a file named by --api-key-file; there is deliberately no
  flag that takes the key itself. --host defaults to POSTHOG_HOST, else https://us.posthog.com
  (EU cloud: https://eu.posthog.com); --project-id to POSTHOG_PROJECT_ID. These options go
  before or after the command.

examples:
  export {KEY_ENV}=phx_...  POSTHOG_PROJECT_ID=12345
  {PROG} delete --distinct-ids-file gdpr.txt --delete-events --dry-run
  {PROG} delete --distinct-ids-file gdpr.txt --delete-events   # asks, runs; ^C is safe
  {PROG} delete --distinct-ids-file gdpr.txt --delete-events   # the same again: resumes
  {PROG} status --journal gdpr.txt.journal.jsonl --wait --timeout 8d
  {PROG} export --property plan=pro --format csv -o pro-users.csv
  {PROG} get 0189a3c2-58c3-7a4e-9f0c-1f6e0b3b8d2a

exit codes:
  0    done
  1    finished, but not everything asked for happened (see the message / the journal)
  2    bad input, flags, key, scope, project or journal path: nothing was changed by this run
  130  interrupted (Ctrl-C, SIGTERM), or a delete job stopped by server or network errors
       that outlasted the retries, a malformed answer, or a journal it could not write:
       run the same command again to resume
"""

_DELETE_EPILOG = f"""\
input:
  One id per line, taken exactly as written: only the line ending (LF or CRLF) is removed, and
  a line with spaces or tabs around its id is rejected (" alice" is not "alice") unless
  --strip-whitespace is given. Blank lines and lines starting with # are ignored; with
  --column NAME, a CSV file with a header line. Every line is validated (by the client's own
  rules) and duplicates are dropped before anything is deleted; rejected lines are counted
  and the first few shown. Use - (or --distinct-ids-file -) to read standard input;
  --journal PATH is then required.

journal and resume:
  The job is recorded in a journal (default: INPUT.journal.jsonl): each batch of up to
  {BULK_DELETE_BATCH} ids before it is sent and the server's answer after, fsync'd. Running
  the same command again resumes after the last confirmed batch; the one batch whose answer
  was never recorded (a crash or kill mid-request) is sent again, which is safe: persons
  already deleted are simply not found. Counts are what the server confirmed; the summary
  names the batches that were sent again. A resume with a changed input file or different
  flags is refused. --journal never replaces or deletes a file that is not this tool's
  journal, nor uses a device, FIFO or directory. While a job runs, another job over the same
  ids into the same project is refused (--force overrides).

  Ctrl-C once: finish the batch in flight, then stop (exit 130). Twice: stop at once.

examples:
  {PROG} delete --distinct-ids-file gdpr.txt --dry-run
  {PROG} delete --distinct-ids-file gdpr.txt --delete-events --yes
  {PROG} delete --ids-file export.csv --column person_uuid --journal erasure-42.jsonl
  cut -f1 users.tsv | {PROG} delete - --journal job.jsonl --yes

exit codes: 0 all done; 1 finished, but some persons could not be deleted (UUIDs in the
  journal); 2 bad input, flags, key, scope, or journal path: nothing was sent, fix it and run
  again; 130 interrupted, or stopped by server or network errors after the retries, a
  malformed answer, or a journal that could not be written: run the same command to resume.
"""

_STATUS_EPILOG = f"""\
Event deletions queued by `delete --delete-events` run asynchronously on the server, batched
off-peak: it can take days. This reads the job's person UUIDs from its journal and sorts
them: completed (a completed deletion record and, unless --keep-person, the person gone),
pending, still there (events deleted, profile not yet), or unknown, where the server has no
record at all (another project or host, a lost record, or a UUID journalled by release
0.1.0 that matched no person). With --wait it polls until all are erased, or until --timeout.

examples:
  {PROG} status --journal gdpr.txt.journal.jsonl
  {PROG} status --journal gdpr.txt.journal.jsonl --wait --timeout 8d

exit codes: 0 all erased (or, without --wait, the status was shown and nothing is unknown);
  1 some are unknown, or not all erased at the --timeout; 2 bad journal or configuration.
"""

_EXPORT_EPILOG = f"""\
Persons are streamed page by page, newest first, in constant memory; progress goes to
standard error. With -o FILE the file appears only once the export is complete.
CSV columns: id, uuid, name, distinct_ids (JSON), created_at, properties (JSON), last_seen_at
(id is empty: the server's list gives no numeric id, only the UUID).

examples:
  {PROG} export -o persons.jsonl
  {PROG} export --property plan=pro --property is_beta=true --format csv -o beta.csv
  {PROG} export --search alice@example.com
"""

_LOOKUP_EPILOG = f"""\
Resolves ids with the batch lookups ({LOOKUP_BATCH} ids per request) and writes one record per input
id: {{"input": ..., "found": true|false, ...person fields}}.

examples:
  {PROG} lookup --distinct-ids-file gdpr.txt -o found.jsonl
  {PROG} lookup --ids-file uuids.csv --column uuid --format csv
"""

_GET_EPILOG = f"""\
examples:
  {PROG} get 42
  {PROG} get 0189a3c2-58c3-7a4e-9f0c-1f6e0b3b8d2a
  {PROG} get --distinct-id alice@example.com
"""


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Defined on the main parser and on every sub-command, so they work before or after the
    # command; SUPPRESS keeps a sub-command from resetting what was given before it.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--host",
        default=default,
        metavar="URL",
        help="PostHog app URL (default: $POSTHOG_HOST, else https://us.posthog.com)",
    )
    scope = group.add_mutually_exclusive_group()
    scope.add_argument(
        "--project-id", default=default, metavar="ID", help="project id ($POSTHOG_PROJECT_ID)"
    )
    scope.add_argument(
        "--environment-id",
        default=default,
        metavar="ID",
        help="deprecated alias of --project-id: an environment's id, sent as the project id "
        "($POSTHOG_ENVIRONMENT_ID)",
    )
    group.add_argument(
        "--api-key-file",
        default=default,
        metavar="PATH",
        help=f"read the personal API key from this file (default: ${KEY_ENV})",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="log requests and retries to stderr (-vv: debug)",
    )


def _id_inputs(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--distinct-ids-file",
        metavar="FILE",
        help="file of distinct ids, one per line (- for standard input)",
    )
    source.add_argument(
        "--ids-file", metavar="FILE", help="file of person UUIDs, one per line (- for stdin)"
    )
    source.add_argument(
        "stdin",
        nargs="?",
        choices=("-",),
        metavar="-",
        help="distinct ids from standard input (the same as --distinct-ids-file -)",
    )
    parser.add_argument(
        "--column", metavar="NAME", help="read FILE as CSV and take the ids from this column"
    )
    parser.add_argument(
        "--strip-whitespace",
        action="store_true",
        help="remove spaces and tabs around each id (default: such lines are rejected, since "
        "' alice' and 'alice' are different distinct ids)",
    )


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        help="output format (default: from the -o suffix, else jsonl)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )


def _positive(text: str) -> float:
    value = status.duration(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _usage(name: str, *lines: str) -> str:
    # Written out: argparse cannot show a group that mixes options and the `-` positional
    # as one `( | | )` choice, and lists them as three independent optional arguments.
    indent = " " * len(f"usage: {PROG} {name} ")
    rest = "".join(f"\n{indent}{line}" for line in lines)
    return (
        f"%(prog)s [-h] [--host URL] [--project-id ID | --environment-id ID]\n"
        f"{indent}[--api-key-file PATH] [-v]\n"
        f"{indent}(--distinct-ids-file FILE | --ids-file FILE | -){rest}"
    )


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Read, export and erase PostHog persons in bulk: resumable GDPR erasure\n"
        "jobs, exports, lookups, and the status of queued event deletions.",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, summary: str, epilog: str, usage: str | None = None
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=summary, epilog=epilog, usage=usage,
            formatter_class=formatter, allow_abbrev=False,
        )  # fmt: skip
        _connection_options(sub, top=False)
        return sub

    sub = command(
        "delete",
        "Delete persons listed in a file, as a resumable, journaled job.",
        _DELETE_EPILOG,
        _usage(
            "delete",
            "[--column NAME] [--strip-whitespace] [--delete-events]",
            "[--delete-recordings] [--keep-person] [--journal PATH]",
            "[--batch-size N] [--dry-run] [-y] [--force]",
        ),
    )
    _id_inputs(sub)
    sub.add_argument(
        "--delete-events",
        action="store_true",
        help="also queue deletion of the persons' events (tracked by `status`)",
    )
    sub.add_argument(
        "--delete-recordings", action="store_true", help="also delete their session recordings"
    )
    sub.add_argument(
        "--keep-person",
        action="store_true",
        help="keep the person records (with --delete-events/--delete-recordings)",
    )
    sub.add_argument("--journal", metavar="PATH", help="job journal (default: FILE.journal.jsonl)")
    sub.add_argument(
        "--batch-size",
        type=int,
        default=BULK_DELETE_BATCH,
        metavar="N",
        help=f"ids per request, 1 to {BULK_DELETE_BATCH} (default: {BULK_DELETE_BATCH})",
    )
    sub.add_argument(
        "--dry-run",
        action="store_true",
        help="look the ids up and print what would be deleted; delete nothing",
    )
    sub.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    sub.add_argument(
        "--force",
        action="store_true",
        help="run even while another job deletes the same ids in the same project "
        "(each id is then sent by both)",
    )
    sub.set_defaults(handler=delete.run)

    sub = command(
        "status", "Show (or wait for) a delete job's queued event deletions.", _STATUS_EPILOG
    )
    sub.add_argument("--journal", metavar="PATH", required=True, help="the delete job's journal")
    sub.add_argument("--wait", action="store_true", help="poll until nothing is pending")
    sub.add_argument(
        "--timeout",
        type=_positive,
        metavar="DURATION",
        help="with --wait: give up after this long, e.g. 90s, 30m, 2h, 8d (default: 8d)",
    )
    sub.add_argument(
        "--poll-interval",
        type=_positive,
        default=60.0,
        metavar="DURATION",
        help="with --wait: time between checks (default: 60s)",
    )
    sub.set_defaults(handler=status.run)

    sub = command("export", "Export every matching person as JSON Lines or CSV.", _EXPORT_EPILOG)
    sub.add_argument("--search", metavar="TEXT", help="email full text or distinct id")
    sub.add_argument("--email", metavar="EMAIL", help="exact email")
    sub.add_argument("--distinct-id", metavar="ID", help="exact distinct id")
    sub.add_argument(
        "--property",
        action="append",
        type=export.property_filter,
        metavar="KEY=VALUE",
        help="person property equals VALUE (repeat to combine)",
    )
    _output_options(sub)
    sub.add_argument(
        "--page-size", type=int, default=100, metavar="N", help="persons per request (100)"
    )
    sub.set_defaults(handler=export.run)

    sub = command("get", "Show one person as JSON.", _GET_EPILOG)
    target = sub.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", metavar="ID", help="numeric person id or person UUID")
    target.add_argument("--distinct-id", metavar="DISTINCT_ID", help="find by distinct id")
    sub.set_defaults(handler=lookup.run_get)

    sub = command(
        "lookup",
        "Resolve a file of ids to persons.",
        _LOOKUP_EPILOG,
        _usage("lookup", "[--column NAME] [--strip-whitespace] [--format {jsonl,csv}] [-o FILE]"),
    )
    _id_inputs(sub)
    _output_options(sub)
    sub.set_defaults(handler=lookup.run_lookup)
    return parser


def _refuse_key_flags(argv: Sequence[str]) -> None:
    # Caught before argparse, whose error would echo the value (the key) to the terminal.
    for arg in argv:
        name = arg.split("=", 1)[0]
        if name in ("--api-key", "--personal-api-key", "--key", "--token"):
            raise CLIError(
                f"there is no {name} option: a key on the command line lands in shell history "
                f"and process lists. Set {KEY_ENV} or use --api-key-file PATH"
            )


class _RedactingFormatter(logging.Formatter):
    """No log line may carry the key, whatever a library logs or a server echoes.

    Applied to the whole formatted record (message, its arguments, and the traceback of
    `exc_info`, whose exception messages can hold a server's error body), not to `msg` only.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_handler: logging.Handler | None = None


def _setup_logging(verbosity: int) -> None:
    global _handler
    root = logging.getLogger()
    if _handler is not None:  # `main` called again in one process (tests, embedding)
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_handler)
    root.setLevel(logging.WARNING)
    level = logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.NOTSET
    logging.getLogger("posthog_persons").setLevel(level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.NOTSET)
    if verbosity >= 2:
        # httpcore traces every header write; that would be the one place a key could leak.
        logging.getLogger("httpcore").setLevel(logging.INFO)


def _fail(message: str, code: Exit) -> Exit:
    print(f"{PROG}: error: {redact(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    verbose = 0
    try:
        _refuse_key_flags(arguments)
        args = build_parser().parse_args(arguments)
        # One pacer for every client of this run: the server's throttles count per key.
        args.pacer = Pacer(DEFAULT_RATE_LIMITS)
        verbose = args.verbose or 0
        _setup_logging(verbose)
        handler: Callable[[argparse.Namespace], Exit] = args.handler
        return int(handler(args))
    except SystemExit as exit_:
        # argparse: --help (0) or a usage error (2), already printed.
        return exit_.code if isinstance(exit_.code, int) else Exit.USAGE
    except CLIError as error:
        if verbose:
            logging.getLogger(__name__).debug("details", exc_info=True)
        return _fail(error.message, error.code)
    except PostHogError as error:
        if verbose:
            logging.getLogger(__name__).debug("details", exc_info=True)
        return _fail(*describe(error))
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return Exit.INCOMPLETE
    except OSError as error:
        if verbose:
            logging.getLogger(__name__).debug("details", exc_info=True)
        where = f" {error.filename}" if error.filename else ""
        return _fail(f"{error.strerror or error}{where}", Exit.INCOMPLETE)
    except Exception as error:
        if verbose:
            logging.getLogger(__name__).exception("unexpected error")
        return _fail(
            f"unexpected {type(error).__name__}: {error} (re-run with -v for details)",
            Exit.INCOMPLETE,
        )
