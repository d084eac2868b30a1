"""Persons as output records (JSON Lines or CSV), and output files that are never half-written."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from posthog_persons.models import Person

from .exits import CLIError, Exit

# The server's own CSV export columns (`?format=csv`), plus last_seen_at.
CSV_COLUMNS = ("id", "uuid", "name", "distinct_ids", "created_at", "properties", "last_seen_at")


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None):
        # The server's own rendering of UTC times.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def person_record(person: Person) -> dict[str, Any]:
    """The person in the API's shape; fields a newer server added are kept."""
    record: dict[str, Any] = {
        "id": person.id,
        "uuid": person.uuid,
        "name": person.name,
        "distinct_ids": list(person.distinct_ids),
        "properties": dict(person.properties),
        "created_at": _when(person.created_at),
        "last_seen_at": _when(person.last_seen_at),
    }
    for key, value in person.extra.items():
        record.setdefault(key, value)
    return record


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class RecordWriter(Protocol):
    def write(self, record: Mapping[str, Any]) -> None: ...


class JsonlWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, record: Mapping[str, Any]) -> None:
        self._stream.write(_json(record) + "\n")


class CsvWriter:
    """Nested values (lists, objects) go in as JSON, like the server's CSV export."""

    def __init__(self, stream: IO[str], columns: tuple[str, ...] = CSV_COLUMNS) -> None:
        self._columns = columns
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, record: Mapping[str, Any]) -> None:
        row = []
        for column in self._columns:
            value = record.get(column)
            if value is None:
                row.append("")
            elif isinstance(value, bool):
                row.append("true" if value else "false")
            elif isinstance(value, list | dict | tuple):
                row.append(json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict)))
            else:
                row.append(str(value))
        self._writer.writerow(row)


def writer_for(fmt: str, stream: IO[str], columns: tuple[str, ...] = CSV_COLUMNS) -> RecordWriter:
    return CsvWriter(stream, columns) if fmt == "csv" else JsonlWriter(stream)


def format_for(fmt: str | None, output: str | None) -> str:
    """--format, else guessed from -o's suffix, else jsonl."""
    if fmt is not None:
        return fmt
    if output is not None and output.lower().endswith(".csv"):
        return "csv"
    return "jsonl"


@contextlib.contextmanager
def output_stream(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file that appears under its name only once complete.

    Written as NAME.partial and renamed at the end: an export stopped half-way must not leave
    a file that looks like a full one.
    """
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    final = Path(path)
    partial = final.with_name(final.name + ".partial")
    try:
        handle = partial.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise CLIError(f"cannot write {partial}: {error.strerror}", Exit.USAGE) from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    os.replace(partial, final)
