"""Exit codes and the one exception type every command raises to stop with a message."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """The process exit codes, documented in `posthog-persons --help`."""

    OK = 0
    # Finished, but something asked for did not happen (persons not deleted, not found, ...).
    INCOMPLETE = 1
    # Bad input, flags, key, scope or project: the user must change something first.
    USAGE = 2
    # Stopped by Ctrl-C or SIGTERM; a delete job resumes where it stopped.
    INTERRUPTED = 130


class CLIError(Exception):
    """A failure explained in one line; `main` prints it and exits with `code`."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
