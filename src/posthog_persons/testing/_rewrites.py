"""Deliberate misbehaviour for tests of a client's defences: overrides, transforms, trickles.

A rule applies to the calls of one operation that reach its handler (requests refused
earlier, with 401, 403, 404, 429 or a validation 400, neither use nor consume a rule).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._http import EmulatorRequest, EmulatorResponse, Trickle, json_bytes, json_response

JsonAnswer = Any | Callable[[EmulatorRequest], Any]
_NO_JSON = object()


@attrs.define
class _Rule:
    remaining: int | None

    def take(self) -> bool:
        """Use the rule once; False when it is spent."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@attrs.define
class Override(_Rule):
    status: int | None
    json: Any
    body: bytes | None
    headers: dict[str, str]

    def answer(self, request: EmulatorRequest, normal_status: int) -> EmulatorResponse:
        status = self.status or normal_status
        if self.json is not _NO_JSON:
            payload = self.json(request) if callable(self.json) else self.json
            return json_response(status, payload, self.headers)
        return EmulatorResponse(status, dict(self.headers), self.body or b"")


@attrs.define
class Transform(_Rule):
    fn: Callable[[Any], Any]

    def apply(self, response: EmulatorResponse) -> EmulatorResponse:
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            return response
        return attrs.evolve(response, body=json_bytes(self.fn(response.json())))


@attrs.define
class SlowBody(_Rule):
    trickle: Trickle


def endless_empty_pages(request: EmulatorRequest) -> dict[str, Any]:
    """An `override(..., json=endless_empty_pages)` answer: no results, and always a `next`
    one page further on (the endless walk a client must stop on its own)."""

    def number(name: str, default: int) -> int:
        raw = request.arg(name)
        return int(raw) if raw and raw.isdigit() else default

    limit = number("limit", 0) or 100
    offset = number("offset", 0)
    return {"results": [], "next": request.page_url(offset + limit, limit), "previous": None}


class Rewrites:
    """The rules in force, per operation id; the first unspent rule of each kind applies."""

    def __init__(self, known: Mapping[str, object]) -> None:
        self._known = known
        self._overrides: dict[str, list[Override]] = {}
        self._transforms: dict[str, list[Transform]] = {}
        self._slow: dict[str, list[SlowBody]] = {}

    def _check(self, operation_id: str, times: int | None) -> None:
        if operation_id not in self._known:
            known = ", ".join(sorted(self._known))
            raise ValueError(f"unknown operation id {operation_id!r}; known: {known}")
        if times is not None and times < 1:
            raise ValueError(f"times must be a positive number of calls or None, not {times!r}")

    def add_override(
        self,
        operation_id: str,
        *,
        status: int | None,
        json: JsonAnswer,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        times: int | None,
    ) -> None:
        self._check(operation_id, times)
        if json is not _NO_JSON and body is not None:
            raise ValueError("give json= or body=, not both")
        rule = Override(times, status, json, body, dict(headers or {}))
        self._overrides.setdefault(operation_id, []).append(rule)

    def add_transform(
        self, operation_id: str, fn: Callable[[Any], Any], *, times: int | None
    ) -> None:
        self._check(operation_id, times)
        if not callable(fn):
            raise ValueError(f"transform needs a callable, not {fn!r}")
        self._transforms.setdefault(operation_id, []).append(Transform(times, fn))

    def add_trickle(
        self, operation_id: str, *, delay: float, chunk: int, times: int | None
    ) -> None:
        self._check(operation_id, times)
        if delay < 0 or chunk < 1:
            raise ValueError(f"trickle needs delay >= 0 and chunk >= 1, not {delay!r}, {chunk!r}")
        self._slow.setdefault(operation_id, []).append(SlowBody(times, Trickle(delay, chunk)))

    def clear(self, operation_id: str | None = None) -> None:
        for rules in (self._overrides, self._transforms, self._slow):
            if operation_id is None:
                rules.clear()
            else:
                rules.pop(operation_id, None)

    @staticmethod
    def _take(rules: dict[str, list[Any]], operation_id: str) -> Any:
        queue = rules.get(operation_id)
        while queue:
            rule = queue[0]
            if rule.take():
                if rule.remaining == 0:
                    queue.pop(0)
                return rule
            queue.pop(0)
        return None

    def override(self, operation_id: str) -> Override | None:
        rule: Override | None = self._take(self._overrides, operation_id)
        return rule

    def transform(self, operation_id: str) -> Transform | None:
        rule: Transform | None = self._take(self._transforms, operation_id)
        return rule

    def trickle(self, operation_id: str) -> Trickle | None:
        rule: SlowBody | None = self._take(self._slow, operation_id)
        return rule.trickle if rule is not None else None


NO_JSON: Any = _NO_JSON
