"""Asking before anything irreversible, and refusing when there is nobody to ask."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from .exits import CLIError, Exit


@contextlib.contextmanager
def _terminal(ids_on_stdin: bool) -> Iterator[TextIO | None]:
    # When the ids arrive on stdin, stdin is not the user: ask on the controlling terminal.
    if not ids_on_stdin:
        yield sys.stdin if sys.stdin.isatty() else None
        return
    try:
        tty = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        yield None
        return
    with tty:
        yield tty


def confirm(summary: list[str], *, ids_on_stdin: bool) -> None:
    """Show `summary` and ask; return only on an explicit yes."""
    with _terminal(ids_on_stdin) as terminal:
        if terminal is None:
            raise CLIError(
                "not deleting: no terminal to ask for confirmation on. Check the counts above "
                "(or use --dry-run) and re-run with --yes",
                Exit.USAGE,
            )
        for line in summary:
            print(line, file=sys.stderr)
        sys.stderr.write("Proceed? [y/N] ")
        sys.stderr.flush()
        answer = terminal.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise CLIError("not confirmed; nothing was deleted", Exit.INTERRUPTED)
