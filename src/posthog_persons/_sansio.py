"""Sans-IO plumbing: each job is written once, as a generator of actions, and run by a driver.

A *flow* is a generator that yields actions and is sent their results:

- `Call(op, kwargs)`: call one generated operation; the result is a `Reply`, or an exception
  (an APIError...) thrown into the flow;
- `Send(request)`: send one request through the inner transport (the retry plan uses it);
- `Discard(response)`: close a response that will not be returned;
- `Sleep(seconds)`: wait;
- `Emit(items)`: hand items to the caller (only in a *stream*, which an iterator drives);
- `Together(flows)`: run several jobs at the same time (each gets its own requests in flight);
  the result is a list, one `Done(value)` or `Failed(error)` per job, in order. A driver with
  no concurrency may run them one after the other: the outcome is the same, only slower.

Two kinds of flows:

- a **job** (`Job[T]`) returns its value (`return value` in the generator): `run`/`arun`
  drive it and return that value, typed;
- a **stream** (`Stream`) emits items: `drive`/`adrive` turn it into an (async) iterator.

`drive`/`run` (sync) and `adrive`/`arun` (async) are the only places where the two colours
differ, with the `perform` callback each client or transport supplies: `Together` runs its
jobs on threads (sync) or as tasks (async, so that bench/'s virtual-time event loop sees them
overlap). Everything else is shared, pure code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class Call:
    """One generated operation, by upstream operation id (`persons_list`...): its keyword
    arguments (path and query parameters) and its JSON body, if it has one."""

    op: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    body: dict[str, Any] | None = None


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


@attrs.frozen
class Together:
    """Run these jobs concurrently; the result is one `Done` or `Failed` per job, in order."""

    jobs: Sequence[Generator[Any, Any, Any]]


@attrs.frozen
class Done(Generic[T]):
    value: T


@attrs.frozen
class Failed:
    error: Exception


Action = Call | Send | Discard | Sleep | Emit | Together
Job: TypeAlias = Generator[Action, Any, T]
Stream: TypeAlias = Generator[Action, Any, None]
Perform = Callable[[Action], Any]
APerform = Callable[[Action], Awaitable[Any]]


class _Stepper(Generic[T]):
    """Advances a flow with the previous action's result or exception."""

    def __init__(self, flow: Job[T]) -> None:
        self._flow = flow
        self.result: Any = None
        self._error: Exception | None = None
        self.value: T

    def next(self) -> Action | None:
        """The next action, or None when the flow has returned (its value in `self.value`)."""
        try:
            if self._error is None:
                return self._flow.send(self.result)
            return self._flow.throw(self._error)
        except StopIteration as stop:
            self.value = stop.value
            return None
        finally:
            self.result, self._error = None, None

    def __enter__(self) -> _Stepper[T]:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        if isinstance(exc, Exception):
            self._error = exc  # thrown into the flow at the next step
            return True
        return False


def _outcomes_one_by_one(jobs: Sequence[Job[Any]], perform: Perform) -> list[Done[Any] | Failed]:
    outcomes: list[Done[Any] | Failed] = []
    for job in jobs:
        try:
            outcomes.append(Done(run(job, perform)))
        except Exception as error:
            outcomes.append(Failed(error))
    return outcomes


def together(jobs: Sequence[Job[Any]], perform: Perform) -> list[Done[Any] | Failed]:
    """The sync way to perform `Together`: one thread per job beyond the first.

    `perform` must be safe to call from several threads (the clients' are: httpx's pool and
    the pacer are thread-safe).
    """
    if len(jobs) < 2:
        return _outcomes_one_by_one(jobs, perform)
    with ThreadPoolExecutor(max_workers=len(jobs) - 1) as pool:
        futures = [pool.submit(_outcomes_one_by_one, [job], perform) for job in jobs[1:]]
        first = _outcomes_one_by_one(jobs[:1], perform)
        return first + [future.result()[0] for future in futures]


async def atogether(jobs: Sequence[Job[Any]], perform: APerform) -> list[Done[Any] | Failed]:
    """The async way to perform `Together`: one task per job."""

    async def outcome(job: Job[Any]) -> Done[Any] | Failed:
        try:
            return Done(await arun(job, perform))
        except Exception as error:
            return Failed(error)

    return list(await asyncio.gather(*(outcome(job) for job in jobs)))


def drive(flow: Stream, perform: Perform) -> Generator[Any, None, None]:
    """Run a stream synchronously, yielding what it emits."""
    step: _Stepper[None] = _Stepper(flow)
    while (action := step.next()) is not None:
        if isinstance(action, Emit):
            yield from action.items
        else:
            with step:
                step.result = _perform(action, perform)


async def adrive(flow: Stream, perform: APerform) -> AsyncGenerator[Any, None]:
    """Run a stream asynchronously, yielding what it emits."""
    step: _Stepper[None] = _Stepper(flow)
    while (action := step.next()) is not None:
        if not isinstance(action, Emit):
            with step:
                step.result = await _aperform(action, perform)
            continue
        for item in action.items:
            yield item


def run(job: Job[T], perform: Perform) -> T:
    """Run a job synchronously and return its value."""
    step = _Stepper(job)
    try:
        while (action := step.next()) is not None:
            with step:
                step.result = _perform(action, perform)
    finally:
        job.close()
    return step.value


async def arun(job: Job[T], perform: APerform) -> T:
    """Async twin of `run`."""
    step = _Stepper(job)
    try:
        while (action := step.next()) is not None:
            with step:
                step.result = await _aperform(action, perform)
    finally:
        job.close()
    return step.value


def _perform(action: Action, perform: Perform) -> Any:
    if isinstance(action, Together):
        return together(action.jobs, perform)
    if isinstance(action, Emit):
        raise TypeError("a job returns its value; only a stream emits (use drive)")
    return perform(action)


async def _aperform(action: Action, perform: APerform) -> Any:
    if isinstance(action, Together):
        return await atogether(action.jobs, perform)
    if isinstance(action, Emit):
        raise TypeError("a job returns its value; only a stream emits (use adrive)")
    return await perform(action)
