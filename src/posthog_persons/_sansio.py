"""Sans-IO plumbing: each job is written once, as a generator of actions, and run by a driver.

A *flow* is a generator that yields actions and is sent their results:

- `Call(op, kwargs)`: call one generated operation; the result is a `Reply`, or an exception
  (an APIError...) thrown into the flow;
- `Send(request)`: send one request through the inner transport (the retry plan uses it);
- `Discard(response)`: close a response that will not be returned;
- `Sleep(seconds)`: wait;
- `Emit(items)`: hand items to the caller (an iterator yields them; `run` returns the first).

`drive` (sync) and `adrive` (async) are the only places where the two colours differ, with the
`perform` callback each client or transport supplies. Everything else is shared, pure code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class Call:
    """One generated operation. `raw`: build the request with the generated `_get_kwargs` but
    skip the generated model parsing (the body is read by `_convert`): the hot paginated
    reads, where parsing every record twice would cost more than the whole HTTP exchange."""

    op: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    raw: bool = False


@attrs.frozen
class Send:
    request: Any


@attrs.frozen
class Discard:
    response: Any


@attrs.frozen
class Sleep:
    seconds: float


@attrs.frozen
class Emit:
    items: Iterable[Any]


Action = Call | Send | Discard | Sleep | Emit
Flow = Generator[Action, Any, None]


class _Stepper:
    """Advances a flow with the previous action's result or exception."""

    def __init__(self, flow: Flow) -> None:
        self._flow = flow
        self.result: Any = None
        self._error: Exception | None = None

    def next(self) -> Action | None:
        try:
            if self._error is None:
                return self._flow.send(self.result)
            return self._flow.throw(self._error)
        except StopIteration:
            return None
        finally:
            self.result, self._error = None, None

    def __enter__(self) -> _Stepper:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        if isinstance(exc, Exception):
            self._error = exc  # thrown into the flow at the next step
            return True
        return False


def drive(flow: Flow, perform: Callable[[Action], Any]) -> Generator[Any, None, None]:
    """Run a flow synchronously, yielding what it emits."""
    step = _Stepper(flow)
    while (action := step.next()) is not None:
        if isinstance(action, Emit):
            yield from action.items
        else:
            with step:
                step.result = perform(action)


async def adrive(
    flow: Flow, perform: Callable[[Action], Awaitable[Any]]
) -> AsyncGenerator[Any, None]:
    """Run a flow asynchronously, yielding what it emits."""
    step = _Stepper(flow)
    while (action := step.next()) is not None:
        if not isinstance(action, Emit):
            with step:
                step.result = await perform(action)
            continue
        for item in action.items:
            yield item


def run(flow: Flow, perform: Callable[[Action], Any]) -> Any:
    """Run a flow to its first emitted item, and return it."""
    items = drive(flow, perform)
    try:
        return next(items)
    finally:
        items.close()
        flow.close()


async def arun(flow: Flow, perform: Callable[[Action], Awaitable[Any]]) -> Any:
    """Async twin of `run`."""
    items = adrive(flow, perform)
    try:
        return await anext(items)
    finally:
        await items.aclose()
        flow.close()
