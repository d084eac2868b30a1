"""Progress on standard error: a redrawn bar on a terminal, periodic plain lines otherwise.

The ETA of a delete job is not "remaining / recent rate": the first few hundred batches go at
full speed inside the server's burst allowance and the rest at the hourly budget's pace, so the
ETA is the larger of the time the requests take and the time the rate budgets impose
(`posthog_persons.pacing.paced_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


class Progress:
    """`update(done)` as work completes; `close()` at the end (or on interruption)."""

    BAR_WIDTH = 24

    def __init__(
        self,
        stream: TextIO,
        *,
        total: int | None,
        unit: str,
        label: str,
        start: int = 0,
        eta: Callable[[int], float] | None = None,
        detail: Callable[[], str] | None = None,
        interval: float = 10.0,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._total, self._unit, self._label = stream, total, unit, label
        self._eta, self._detail, self._clock = eta, detail, clock
        self._tty = stream.isatty() if tty is None else tty
        self._interval = 0.2 if self._tty else interval
        self._started = clock()
        self._base = start
        self._done = start
        self._last_draw = float("-inf")
        self._drawn = False
        self._drawn_done = -1

    def update(self, done: int, *, force: bool = False) -> None:
        """Record `done`; redraw when the interval has passed, or when forced (the final
        count), unless that very count is already what the last draw showed."""
        self._done = done
        now = self._clock()
        if force and self._drawn and self._drawn_done == done:
            return
        if force or now - self._last_draw >= self._interval:
            self._last_draw = now
            self._draw(now)

    def _rate(self, now: float) -> float:
        elapsed = now - self._started
        return (self._done - self._base) / elapsed if elapsed > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        now = self._clock() if now is None else now
        rate = self._rate(now)
        parts = []
        if self._total:
            share = min(1.0, self._done / self._total)
            parts.append(f"{self._done:,}/{self._total:,} {self._unit} ({share:.0%})")
        else:
            parts.append(f"{self._done:,} {self._unit}")
        parts.append(f"{rate:,.0f} {self._unit}/s")
        if self._detail is not None:
            parts.append(self._detail())
        if self._total is not None and self._done < self._total:
            remaining = self._total - self._done
            by_rate = remaining / rate if rate > 0 else 0.0
            by_budget = self._eta(remaining) if self._eta is not None else 0.0
            if rate > 0 or by_budget > 0:
                parts.append(f"ETA {format_duration(max(by_rate, by_budget))}")
        return f"{self._label}: " + ", ".join(parts)

    def _draw(self, now: float) -> None:
        text = self.line(now)
        if self._tty:
            bar = ""
            if self._total:
                filled = int(self.BAR_WIDTH * min(1.0, self._done / self._total))
                bar = "[" + "#" * filled + "." * (self.BAR_WIDTH - filled) + "] "
            self._stream.write("\r\x1b[K" + bar + text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
        self._drawn = True
        self._drawn_done = self._done

    def close(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()

    def note(self, message: str) -> None:
        """A message between progress lines that the bar does not overwrite."""
        if self._tty and self._drawn:
            self._stream.write("\r\x1b[K")
        self._stream.write(message + "\n")
        self._stream.flush()
        if self._tty and self._drawn:
            self._draw(self._clock())
