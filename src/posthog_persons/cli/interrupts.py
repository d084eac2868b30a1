"""Ctrl-C and SIGTERM during a job: finish the batch in flight, then stop cleanly.

A first signal only asks to stop, so the batch whose request is on the wire gets its result
recorded and the journal needs no re-send on resume. A second Ctrl-C stops at once (the batch
in flight is then the one re-sent on resume): pacing can hold a batch back for minutes.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any


class GracefulStop:
    """A context manager that turns SIGINT/SIGTERM into `requested`, the second into ^C."""

    def __init__(self, what: str = "the current batch") -> None:
        self.requested = False
        self._what = what
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            f"\nStopping after {self._what} (Ctrl-C again to stop at once)...",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> GracefulStop:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
