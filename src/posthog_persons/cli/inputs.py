"""Reading id files: one id per line or one CSV column, validated and deduplicated up front.

Everything is decided before the first request: a GDPR job must not discover on line 900,000
that the file was the wrong one. The file is read as bytes, line by line, so that invalid
UTF-8 or a runaway line costs one rejected line, not the job, and never the whole file in memory
at once.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from posthog_persons import InvalidInputError, validate_distinct_id, validate_uuid

from .exits import CLIError, Exit

# Far above any real id or CSV row of ids; a longer line is junk (a binary file, a dump).
MAX_LINE_BYTES = 64 * 1024
_READ_CHUNK = 1024 * 1024
_SHOWN_EXAMPLES = 5
_BOM = b"\xef\xbb\xbf"


class IdKind(Enum):
    """What the ids in a file are; the value is the bulk delete field that takes them."""

    DISTINCT_ID = "distinct_ids"
    UUID = "ids"

    @property
    def noun(self) -> str:
        return "distinct ids" if self is IdKind.DISTINCT_ID else "person UUIDs"


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class IdFile:
    """The validated, deduplicated ids of one input, with what was dropped and why."""

    source: str
    kind: IdKind
    column: str | None
    ids: list[str] = field(default_factory=list)
    lines: int = 0
    blank: int = 0
    comments: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: list[Rejection] = field(default_factory=list)
    # Of the raw bytes: a resumed job must be reading exactly the same file.
    sha256: str = ""
    looks_like_csv: str | None = None

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def ids_sha256(self) -> str:
        """Of the validated list, in order: batch k is the same ids on every run."""
        digest = hashlib.sha256()
        for value in self.ids:
            digest.update(value.encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
        return digest.hexdigest()

    def describe(self) -> list[str]:
        """The report shown before anything is deleted: counts, then the first rejections."""
        head = (
            f"Read {self.source}: {self.lines:,} lines, {len(self.ids):,} unique {self.kind.noun}"
        )
        skipped = []
        if self.blank:
            skipped.append(f"{self.blank:,} blank")
        if self.comments:
            skipped.append(f"{self.comments:,} comment")
        if self.duplicates:
            skipped.append(f"{self.duplicates:,} duplicate")
        out = [head + (f" ({', '.join(skipped)} lines skipped)." if skipped else ".")]
        if self.rejected:
            reasons = ", ".join(f"{reason}: {n:,}" for reason, n in self.rejected.most_common())
            out.append(f"Rejected {self.rejected_total:,} lines ({reasons}):")
            out.extend(f"  {example}" for example in self.examples)
            if self.rejected_total > len(self.examples):
                out.append(f"  ... and {self.rejected_total - len(self.examples):,} more")
        if self.looks_like_csv is not None:
            out.append(
                f"Note: {self.looks_like_csv} looks like a CSV row; "
                "pass --column NAME to read one column of a CSV file."
            )
        return out


def _shown(value: str, limit: int = 60) -> str:
    """A value as it can be safely printed on one line: quoted, escaped, shortened."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)


def _check_uuid(value: str) -> tuple[str | None, Rejection | None]:
    try:
        return validate_uuid(value), None
    except InvalidInputError as error:
        reason = error.reason or "not a UUID"
    if value.isdigit():
        hint = "a numeric person id; --ids-file takes person UUIDs"
    elif "@" in value or not any(c in value for c in "-0123456789"):
        hint = "looks like a distinct id; use --distinct-ids-file for those"
    else:
        hint = _shown(value)
    return None, Rejection(0, reason, hint)


def _check_distinct_id(value: str) -> tuple[str | None, Rejection | None]:
    try:
        return validate_distinct_id(value), None
    except InvalidInputError as error:
        return None, Rejection(0, error.reason or "invalid", error.message)


def _lines(stream: BinaryIO, digest: hashlib._Hash) -> Iterator[bytes | int]:
    """Each line without its ending, or the byte length of a line over MAX_LINE_BYTES."""
    first = True
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        digest.update(line)
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            # Drain the rest of the runaway line without keeping it.
            size = len(line)
            while not line.endswith(b"\n"):
                line = stream.readline(_READ_CHUNK)
                if not line:
                    break
                digest.update(line)
                size += len(line)
            yield size - (1 if line.endswith(b"\n") else 0)
            first = False
            continue
        if first and line.startswith(_BOM):
            line = line[len(_BOM) :]
        first = False
        # The line terminator (LF or CRLF) and nothing else: an id is the exact string.
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield line


def _decode(raw: bytes) -> tuple[str | None, str]:
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1]
        return None, f"byte 0x{bad.hex()} at position {error.start + 1}"


def _spaced(value: str, strip: bool) -> tuple[str, Rejection | None]:
    """`value` exactly as written, or a rejection if whitespace surrounds it (unless `strip`).

    " alice" and "alice" are two distinct ids: deleting one for the other would erase the
    wrong person, so surrounding whitespace is never removed silently.
    """
    stripped = value.strip()
    if stripped == value:
        return value, None
    if strip:
        return stripped, None
    return value, Rejection(
        0, "leading or trailing whitespace", f"{_shown(value)}; --strip-whitespace removes it"
    )


def read_ids(
    stream: BinaryIO,
    *,
    source: str,
    kind: IdKind,
    column: str | None = None,
    strip_whitespace: bool = False,
) -> IdFile:
    """Read, validate and deduplicate ids; the result keeps first occurrences in file order.

    Each id is the line (or cell) exactly as written, only the line terminator removed; with
    `strip_whitespace`, surrounding whitespace is removed instead of rejecting the line.
    """
    result = IdFile(source=source, kind=kind, column=column)
    check = _check_uuid if kind is IdKind.UUID else _check_distinct_id
    digest = hashlib.sha256()
    seen: set[str] = set()
    column_index: int | None = None
    for number, item in enumerate(_lines(stream, digest), start=1):
        result.lines = number

        def reject(rejection: Rejection, number: int = number) -> None:
            result.rejected[rejection.reason] += 1
            if len(result.examples) < _SHOWN_EXAMPLES:
                result.examples.append(Rejection(number, rejection.reason, rejection.detail))

        if isinstance(item, int):
            reject(
                Rejection(0, "line too long", f"{item:,} bytes, the limit is {MAX_LINE_BYTES:,}")
            )
            continue
        text, problem = _decode(item)
        if text is None:
            reject(Rejection(0, "invalid UTF-8", problem))
            continue
        if not text.strip():
            result.blank += 1
            continue
        if text.lstrip().startswith("#"):
            result.comments += 1
            continue
        raw = text
        if column is not None:
            cells = next(csv.reader([text]), [])
            if column_index is None:
                column_index = _find_column(cells, column, source)
                continue
            if column_index >= len(cells):
                reject(Rejection(0, "no value in the column", f"{len(cells)} cells"))
                continue
            raw = cells[column_index]
            if not raw.strip():
                reject(Rejection(0, "empty cell"))
                continue
        elif number == 1 and kind is IdKind.UUID and ("," in text or "\t" in text):
            result.looks_like_csv = _shown(text)
        exact, rejection = _spaced(raw, strip_whitespace)
        if rejection is not None:
            reject(rejection)
            continue
        value, rejection = check(exact)
        if rejection is not None or value is None:
            reject(rejection or Rejection(0, "invalid"))
            continue
        if value in seen:
            result.duplicates += 1
            continue
        seen.add(value)
        result.ids.append(value)
    if column is not None and column_index is None:
        raise CLIError(f"{source} has no header line with a column {column!r}", Exit.USAGE)
    if (
        column is None
        and kind is IdKind.DISTINCT_ID
        and result.ids
        and ("," in result.ids[0] or "\t" in result.ids[0])
    ):
        result.looks_like_csv = _shown(result.ids[0])
    result.sha256 = digest.hexdigest()
    return result


def _find_column(header: list[str], column: str, source: str) -> int:
    names = [cell.strip() for cell in header]
    if column in names:
        return names.index(column)
    folded = [name.casefold() for name in names]
    if column.casefold() in folded:
        return folded.index(column.casefold())
    shown = ", ".join(_shown(name, 30) for name in names[:20])
    raise CLIError(
        f"{source}: no column {column!r} in the header line (columns: {shown})", Exit.USAGE
    )


@contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """The file at `path`, or standard input for `-`."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        raise CLIError(f"input file not found: {path}", Exit.USAGE) from None
    except IsADirectoryError:
        raise CLIError(f"input is a directory, not a file: {path}", Exit.USAGE) from None
    except OSError as error:
        raise CLIError(f"cannot read {path}: {error.strerror}", Exit.USAGE) from None
    with handle:
        yield handle


def load_ids(
    path: str, *, kind: IdKind, column: str | None, strip_whitespace: bool = False
) -> IdFile:
    with open_input(path) as stream:
        return read_ids(
            stream,
            source="standard input" if path == "-" else path,
            kind=kind,
            column=column,
            strip_whitespace=strip_whitespace,
        )


def input_of(args: argparse.Namespace) -> tuple[IdKind, str]:
    """What the flags name: the kind of ids and the path (`-` for standard input)."""
    if getattr(args, "stdin", None) == "-":
        return IdKind.DISTINCT_ID, "-"
    if args.distinct_ids_file is not None:
        return IdKind.DISTINCT_ID, str(args.distinct_ids_file)
    return IdKind.UUID, str(args.ids_file)
