"""Simulated time for the benchmarks and the pacing tests: an asyncio loop on a virtual clock.

`run_simulated(coroutine)` runs it on an event loop whose clock only moves when every task is
waiting for a timer: then it jumps to the next timer at once. `asyncio.sleep(3600)` costs no
real time, and the order of events is the one real time would give, so clients, pacers and
fake servers that take `loop.time` as their clock and `asyncio.sleep` as their sleep run hours
of traffic in seconds. Only in-process transports are allowed (no sockets: real I/O would not
wait for virtual time).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _VirtualSelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    """Never sleeps: a wait for the next timer moves the loop's virtual clock instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            # None: nothing is scheduled. Only a thread (call_soon_threadsafe) can wake the
            # loop, so wait for it for real.
            return ready if ready or timeout is not None else super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose `time()` is virtual (see the module's docstring)."""

    def __init__(self) -> None:
        self._virtual = _VirtualSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def run_simulated(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh VirtualTimeLoop (virtual time starts at 0)."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
