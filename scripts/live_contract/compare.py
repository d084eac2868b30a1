"""Two recordings of the same scenarios, compared exchange by exchange.

Exchanges are named by operation (the committed schema's operation ids; a path the schema
does not have is named `METHOD /path/{id}/`) and paired by their order within a cassette: the
k-th call of an operation on the server with the k-th on the emulator. A pair is compared for
- its status code (a different status ends the comparison of that pair),
- the body's shape: field names, JSON types, nullability, fields only one side sends
  (values whose keys are data - person properties, batch-lookup results - are compared by
  their values' shape, never by their keys; list items are merged into one shape),
- pagination links (`next`/`previous`): present or not, absolute, same origin as the
  request, same query keys,
- the headers that matter: `Retry-After`, the media type of `Content-Type`,
- for errors, the body's style: DRF `{type, code, detail, attr}` or `{"error"}`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from .recording import OUTCOMES

SCHEMA = Path(__file__).resolve().parents[2] / "openapi" / "posthog-persons.json"
# Fields whose keys are data: person properties (ingestion adds its own `$` keys), the
# before/after values of activity-log changes, cohort filters.
OPAQUE_FIELDS = frozenset({"properties", "before", "after", "filters"})
# Objects keyed by what was asked for: the batch lookups' {id: person}.
MAP_FIELDS = frozenset({"results"})
LINK_FIELDS = ("next", "previous")
LINK_ASPECTS = ("presence", "form", "query keys")
HEADERS = ("retry-after", "content-type")
# libyaml's loader when PyYAML has it: the pure-Python one is several times slower.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
EMPTY = object()  # no body
RAW = object()  # a body that is not JSON


@dataclass(frozen=True)
class Exchange:
    cassette: str
    operation: str
    method: str
    uri: str
    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Divergence:
    """One way the emulator answers differently from the server."""

    operation: str
    kind: str
    field: str
    server: str
    emulator: str
    cassettes: tuple[str, ...] = ()


class Operations:
    """Names requests by the committed schema's operation ids."""

    def __init__(self, schema_path: Path = SCHEMA) -> None:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        routes: list[tuple[int, str, re.Pattern[str], str]] = []
        for template, item in schema["paths"].items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.rstrip("/")))
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    routes.append(
                        (
                            literal,
                            method.upper(),
                            re.compile(f"^{pattern}/?$"),
                            str(operation["operationId"]),
                        )
                    )
        # The most literal template first: /persons/bulk_delete/ before /persons/{id}/.
        self._routes = sorted(routes, key=lambda route: -route[0])

    def name(self, method: str, path: str) -> str:
        for _, route_method, pattern, operation_id in self._routes:
            if route_method == method.upper() and pattern.match(path):
                return operation_id
        # Not in the schema (e.g. the hidden `destroy`): the path with its ids as templates.
        generic = _PROJECT.sub(r"/api/\1/{project_id}/", path)
        return f"{method.upper()} {_ID.sub('/{id}/', generic)}"


_PROJECT = re.compile(r"/api/(projects|environments)/[^/]+/")
_ID = re.compile(r"/(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})/")


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, dict):
        raw = raw.get("string", "")
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _parse_body(raw: Any) -> Any:
    text = _text(raw)
    if not text.strip():
        return EMPTY
    try:
        return json.loads(text)
    except ValueError:
        return RAW


def load(directory: Path, operations: Operations) -> dict[str, list[Exchange]]:
    """cassette (relative path) -> its exchanges, in order."""
    found: dict[str, list[Exchange]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        name = str(path.relative_to(directory))
        text = path.read_text(encoding="utf-8")
        interactions = yaml.load(text, Loader=_Loader).get("interactions") or []
        exchanges = []
        for interaction in interactions:
            request, response = interaction["request"], interaction["response"]
            headers = {
                k.lower(): (v[0] if isinstance(v, list) else v)
                for k, v in (response.get("headers") or {}).items()
            }
            method = request["method"].upper()
            exchanges.append(
                Exchange(
                    cassette=name,
                    operation=operations.name(method, urlsplit(request["uri"]).path),
                    method=method,
                    uri=request["uri"],
                    status=int(response["status"]["code"]),
                    headers=headers,
                    body=_parse_body(response.get("body")),
                )
            )
        found[name] = exchanges
    return found


# --------------------------------------------------------------------------- body shapes


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass
class Shape:
    """The union of the JSON values seen at one place of a body."""

    types: set[str] = field(default_factory=set)
    fields: dict[str, Shape] = field(default_factory=dict)
    items: Shape | None = None  # of a list
    values: Shape | None = None  # of an object keyed by data (MAP_FIELDS)

    def add(self, value: Any, name: str = "") -> Shape:
        kind = _type(value)
        self.types.add(kind)
        if kind == "array":
            for item in value:
                self.items = (self.items or Shape()).add(item)
        elif kind == "object" and name in MAP_FIELDS:
            for item in value.values():
                self.values = (self.values or Shape()).add(item)
        elif kind == "object" and name not in OPAQUE_FIELDS:
            for key, item in value.items():
                self.fields.setdefault(key, Shape()).add(item, key)
        return self


Finding = tuple[str, str, str, str]  # kind, field, the server's, the emulator's


def _types(types: set[str]) -> str:
    return "|".join(sorted(types)) or "nothing"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _diff_shapes(server: Shape, emulator: Shape, where: str, out: list[Finding]) -> None:
    if server.types != emulator.types:
        # null on one side where the other sends a value, or null only sometimes.
        nullable = "null" in (server.types ^ emulator.types) and (
            server.types - {"null"} == emulator.types - {"null"}
            or {"null"} in (server.types, emulator.types)
        )
        if where.rsplit(".", 1)[-1] not in LINK_FIELDS:  # links get their own comparison
            kind = "nullability" if nullable else "type"
            out.append((kind, where or "(body)", _types(server.types), _types(emulator.types)))
        if not (server.types & emulator.types) - {"null"}:
            return  # nothing in common to look into
    for key in sorted(server.fields.keys() - emulator.fields.keys()):
        if "object" in emulator.types:
            out.append(
                ("missing_field", _join(where, key), _types(server.fields[key].types), "absent")
            )
    for key in sorted(emulator.fields.keys() - server.fields.keys()):
        if "object" in server.types:
            out.append(
                ("extra_field", _join(where, key), "absent", _types(emulator.fields[key].types))
            )
    for key in sorted(server.fields.keys() & emulator.fields.keys()):
        _diff_shapes(server.fields[key], emulator.fields[key], _join(where, key), out)
    # An empty list or map on either side says nothing about its items.
    if server.items is not None and emulator.items is not None:
        _diff_shapes(server.items, emulator.items, f"{where}[]", out)
    if server.values is not None and emulator.values is not None:
        _diff_shapes(server.values, emulator.values, f"{where}{{}}", out)


# --------------------------------------------------------------------------- one pair


def _error_style(body: Any) -> str:
    if isinstance(body, dict) and {"type", "code", "detail"} <= body.keys():
        return "DRF {type, code, detail, attr}"
    if isinstance(body, dict) and "error" in body:
        return '{"error"}'
    if body is EMPTY:
        return "no body"
    return "other: " + (_type(body) if body is not RAW else "not JSON")


def _link(value: Any, request_uri: str) -> tuple[str, str, str]:
    """(presence, form, query keys) of a pagination link."""
    if not isinstance(value, str) or not value:
        return "absent", "", ""
    link, request = urlsplit(value), urlsplit(request_uri)
    if not (link.scheme and link.netloc):
        form = "relative"
    elif (link.scheme, link.netloc) == (request.scheme, request.netloc):
        form = "absolute, same origin"
    else:
        form = "absolute, another origin"
    keys = ",".join(sorted({key for key, _ in parse_qsl(link.query, keep_blank_values=True)}))
    return "present", form, keys


def _header(name: str, value: str | None) -> str:
    """What matters of a header: Retry-After is seconds or not, Content-Type its media type."""
    if value is None:
        return "absent"
    if name == "retry-after":
        return "seconds" if value.strip().isdigit() else value
    return value.split(";")[0].strip()


def _body_kind(body: Any) -> str:
    if body is EMPTY:
        return "no body"
    if body is RAW:
        return "not JSON"
    return "JSON " + _type(body)


def compare_pair(server: Exchange, emulator: Exchange) -> list[Finding]:
    if server.status != emulator.status:
        return [("status", "", str(server.status), str(emulator.status))]
    found: list[Finding] = []
    for name in HEADERS:
        if name == "content-type" and server.body is EMPTY and emulator.body is EMPTY:
            continue
        ours = _header(name, server.headers.get(name))
        theirs = _header(name, emulator.headers.get(name))
        if ours != theirs:
            found.append(("header", name, ours, theirs))
    if server.status >= 400:
        ours, theirs = _error_style(server.body), _error_style(emulator.body)
        if ours != theirs:
            return [*found, ("error_body", "", ours, theirs)]
    ours, theirs = _body_kind(server.body), _body_kind(emulator.body)
    if not (ours == theirs or (ours.startswith("JSON") and theirs.startswith("JSON"))):
        return [*found, ("body", "", ours, theirs)]
    if server.body is EMPTY or server.body is RAW:
        return found
    _diff_shapes(Shape().add(server.body), Shape().add(emulator.body), "", found)
    if isinstance(server.body, dict) and isinstance(emulator.body, dict):
        for name in LINK_FIELDS:
            if name not in server.body and name not in emulator.body:
                continue
            ours_link = _link(server.body.get(name), server.uri)
            theirs_link = _link(emulator.body.get(name), emulator.uri)
            for label, a, b in zip(LINK_ASPECTS, ours_link, theirs_link, strict=True):
                if a != b:
                    found.append(("pagination", f"{name} ({label})", a or "-", b or "-"))
    return found


# --------------------------------------------------------------------------- two recordings


def compare(
    server_dir: Path, emulator_dir: Path, operations: Operations | None = None
) -> list[Divergence]:
    """Every divergence between two recordings of the same scenarios, deduplicated."""
    operations = operations or Operations()
    server, emulator = load(server_dir, operations), load(emulator_dir, operations)
    where: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)

    def note(operation: str, kind: str, field_: str, ours: str, theirs: str, cassette: str) -> None:
        cassettes = where[(operation, kind, field_, ours, theirs)]
        if cassette not in cassettes:
            cassettes.append(cassette)

    for cassette in sorted(server.keys() | emulator.keys()):
        ours_by_op: dict[str, list[Exchange]] = defaultdict(list)
        theirs_by_op: dict[str, list[Exchange]] = defaultdict(list)
        for exchange in server.get(cassette, []):
            ours_by_op[exchange.operation].append(exchange)
        for exchange in emulator.get(cassette, []):
            theirs_by_op[exchange.operation].append(exchange)
        for operation in sorted(ours_by_op.keys() | theirs_by_op.keys()):
            ours, theirs = ours_by_op[operation], theirs_by_op[operation]
            if len(ours) != len(theirs):
                note(operation, "calls", "", f"{len(ours)} calls", f"{len(theirs)} calls", cassette)
            for a, b in zip(ours, theirs, strict=False):
                for kind, field_, x, y in compare_pair(a, b):
                    note(operation, kind, field_, x, y, cassette)
    for cassette, (server_said, emulator_said) in _outcomes(server_dir, emulator_dir).items():
        if (server_said == "ok") != (emulator_said == "ok"):
            note("(scenario)", "outcome", cassette, server_said, emulator_said, cassette)
    return [Divergence(*key, cassettes=tuple(c)) for key, c in sorted(where.items())]


def _outcomes(server_dir: Path, emulator_dir: Path) -> dict[str, tuple[str, str]]:
    def read(directory: Path) -> dict[str, str]:
        path = directory / OUTCOMES
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    ours, theirs = read(server_dir), read(emulator_dir)
    return {
        name: (ours.get(name, "not run"), theirs.get(name, "not run"))
        for name in ours.keys() | theirs.keys()
    }
