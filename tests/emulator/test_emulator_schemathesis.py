"""Property-based conformance: schemathesis drives the emulator's HTTP server.

Every operation of the committed schema is generated, sent over real HTTP and its response
checked with all of schemathesis' checks. Generated path parameters are pinned to
the emulator's project and to persons that exist, or nearly every example would stop at a 404
"Project not found" and check nothing but the 404 body. `test_every_operation_was_exercised`
proves the run is not vacuous: each of the operations got a successful, schema-checked answer.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from posthog_persons.testing import EmulatorServer, FakePostHog, find_schema

SCHEMA_PATH = find_schema()
pytestmark = pytest.mark.skipif(SCHEMA_PATH is None, reason="no committed schema yet")


def _raw_schema() -> dict[str, Any]:
    if SCHEMA_PATH is None:
        return {"openapi": "3.0.3", "info": {"title": "none", "version": "0"}, "paths": {}}
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


RAW = _raw_schema()
schema = schemathesis.openapi.from_dict(RAW)
# Unknown query parameters are not a schema violation the server acts on: DRF ignores them.
schema.config.generation.update(allow_extra_parameters=False)
# Counted from the file, independently of schemathesis: 20 for the committed 2026 schema.
OPERATIONS = {
    (method.upper(), path)
    for path, item in RAW["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
}

# Requests the schema allows but the real server refuses with a 400 (facts file); the
# schema cannot express these rules, so a 400 for them is the faithful answer. Any other 400
# for a schema-valid request fails the test (schemathesis' positive_data_acceptance, narrowed).
SERVER_RULES: dict[str, re.Pattern[str]] = {
    # `properties` is a JSON-encoded string to the server; junk is refused.
    "/persons/": re.compile(r'"attr":"properties"'),
    # posthog/api/person.py _bulk_delete_persons: both lists, neither, more than 1000; and
    # ids that are not UUIDs.
    "/persons/bulk_delete/": re.compile(
        r"either distinct_ids or ids|is not a valid UUID|only pass 1000|Expected a list"
    ),
    "/persons/batch_by_uuids/": re.compile(r"One or more UUIDs are invalid\."),
    "/persons/cohorts/": re.compile(r'"attr":"person_id"'),
    # Exactly one of distinct_id / person_id, and an ISO 8601 timestamp.
    "/persons/properties_at_time/": re.compile(r'^\{"error":'),
    "/persons/reset_person_distinct_id/": re.compile(r"distinct_id is required"),
    # posthog/api/person.py update / update_property: `properties` (`key`) None is refused.
    "/persons/{id}/": re.compile(r'"attr":"properties","code":"This field is required\."'),
    "/persons/{id}/update_property/": re.compile(r'"attr":"(key|value)"'),
    # posthog/api/person.py split's own rules on distinct_ids_to_split.
    "/persons/{id}/split/": re.compile(
        r"must not be empty|must be a list of strings|not on this person|cannot be combined"
    ),
}
ACCEPTABLE = {401, 403, 404, 409, 429}

_seen: set[tuple[str, str]] = set()


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(path)) + "$")


def _server_rule(path: str) -> re.Pattern[str] | None:
    for suffix, pattern in SERVER_RULES.items():
        if path.endswith(suffix):
            return pattern
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # The default configuration (validate=True): a contract breach is a 500 and fails. A
    # legacy key (no scopes) may use every action, properties_timeline included, and sees
    # the 405 of an undocumented method (a scoped key gets the 403 first).
    fake = FakePostHog(80, seed=2, scopes=())
    with fake.serve() as running:
        yield running


def _pin(case: schemathesis.Case, fake: FakePostHog, initial: list[dict[str, Any]]) -> None:
    """Point a generated example at the emulator's project and at persons it has.

    Without this nearly every example stops at a 404 (random project and person ids). Half
    the positive examples of operations whose success needs live persons or a rule the
    schema cannot carry (exactly one of two fields, an ISO timestamp) are also steered to a
    valid request; the other half keep their generated values and exercise the 400s/404s.
    Deterministic: a stable hash (str hash is salted per process) picks, not a random draw.
    """
    case.path_parameters["project_id"] = str(fake.project_id)
    pick = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    live = fake.persons
    # One in four keeps a person from the start, who may be deleted by now (a 404).
    pool = initial if pick % 4 == 0 or not live else live
    person = pool[pick % len(pool)]
    meta = case.meta
    integer_id = _id_is_integer(case.operation.path, case.method)
    generated = str(case.path_parameters.get("id", ""))
    # A negative example's non-integer id (where the schema wants one) is its violation: kept.
    bad_id = integer_id and not generated.lstrip("-").isdigit()
    negative = meta is not None and not meta.generation.mode.is_positive
    if "id" in case.path_parameters and not (negative and bad_id):
        # Where the schema types `id` as an integer (see test_detail_actions_accept_a_uuid),
        # only the numeric id is schema-valid.
        numeric = pick % 2 or integer_id
        case.path_parameters["id"] = str(person["id"] if numeric else person["uuid"])
    if meta is None or not meta.generation.mode.is_positive or pick % 2:
        return
    query = case.query if isinstance(case.query, dict) else None
    body = case.body if isinstance(case.body, dict) else None
    path = case.operation.path
    if query is not None and path.endswith("/cohorts/"):
        query["person_id"] = str(person["id"])
    elif query is not None and path.endswith("/properties_at_time/"):
        # A person with string properties only: the schema types them as strings, the server
        # sends them as they are (see test_properties_at_time_with_non_string_values_conforms).
        person = next(p for p in pool if all(isinstance(v, str) for v in p["properties"].values()))
        query.pop("person_id" if pick % 3 else "distinct_id", None)
        if "person_id" in query:
            query["person_id"] = str(person["id"])
        else:
            query["distinct_id"] = person["distinct_ids"][0]
        query["timestamp"] = "2030-01-01T00:00:00Z"
    elif body is not None and path.endswith("/split/"):
        if "main_distinct_id" in body:
            body.pop("distinct_ids_to_split", None)
            body["main_distinct_id"] = person["distinct_ids"][0]
    elif body is not None and path.endswith("/reset_person_distinct_id/"):
        body["distinct_id"] = body.get("distinct_id") or "someone"


def _id_is_integer(path: str, method: str) -> bool:
    operation = RAW["paths"][path].get(method.lower(), {})
    return any(
        p.get("name") == "id" and p.get("schema", {}).get("type") == "integer"
        for p in operation.get("parameters", [])
    )


_initial: dict[int, list[dict[str, Any]]] = {}
# One keep-alive connection instead of a new one per example.
_session = requests.Session()


def _exercise(case: schemathesis.Case, fake: FakePostHog, base_url: str) -> requests.Response:
    _pin(case, fake, _initial.setdefault(id(fake), fake.persons))
    # The server's `Allow` (DRF's allowed_methods) lists create (POST persons/) and destroy
    # (DELETE persons/{id}/), which it serves but the schema hides: it cannot match.
    excluded = [positive_data_acceptance, allow_header_conformance]
    if case.method.upper() == "DELETE" and case.operation.path.endswith("/persons/{id}/"):
        # destroy: hidden from the schema (exclude=True), still served (202), not a 405.
        excluded.append(unsupported_method)
    response = case.call_and_validate(
        base_url=base_url,
        session=_session,
        headers={"Authorization": f"Bearer {fake.api_key}"},
        excluded_checks=excluded,
    )
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    status = response.status_code
    if positive and 400 <= status < 500 and status not in ACCEPTABLE:
        rule = _server_rule(case.operation.path)
        empty = [name for name, value in (case.query or {}).items() if value == ""]
        if status == 400 and empty and "Query parameter error" in response.text:
            # OpenAPI 3.0: a query parameter may be empty only with allowEmptyValue, which
            # this schema never sets; openapi-core enforces it, schemathesis does not.
            return response
        assert status == 400 and rule is not None and rule.search(response.text), (
            f"schema-valid request rejected: {case.method} {case.formatted_path} "
            f"query={case.query} body={case.body!r} -> {status} {response.text[:300]}"
        )
    return response


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_emulator_conforms_to_schema(case: schemathesis.Case, server: EmulatorServer) -> None:
    _seen.add((case.method.upper(), case.operation.path))
    _exercise(case, server.fake, server.url)


def test_every_operation_was_exercised(
    request: pytest.FixtureRequest, server: EmulatorServer
) -> None:
    ran = [
        item
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_emulator_conforms_to_schema"
    ]
    if not ran:
        pytest.skip("the schemathesis test was not selected")
    assert len(OPERATIONS) == 20
    assert len(ran) == len(OPERATIONS)
    # schemathesis also tries undocumented methods (expecting 405); those are extra.
    assert _seen >= OPERATIONS
    # Each operation got at least one authorised, successful answer: its success response,
    # not only error bodies, was checked against the schema.
    succeeded = {
        (r.method, r.path)
        for r in server.fake.requests
        if r.authorized and 200 <= r.status < 300 and r.operation is not None
    }
    unanswered = sorted(
        (method, template)
        for method, template in OPERATIONS
        if not any(
            method == done_method and _template(template).match(done_path)
            for done_method, done_path in succeeded
        )
    )
    assert unanswered == [], "\n".join(
        f"{m} {t}: "
        + ", ".join(
            f"{r.status} {r.path}?{r.query} {r.body}"[:200]
            for r in server.fake.requests
            if r.method == m and _template(t).match(r.path) and r.authorized
        )
        for m, t in unanswered
    )
    assert server.fake.contract_errors == []


def test_schemathesis_fails_on_a_response_that_breaks_the_schema() -> None:
    """The harness above is not vacuous: a non-conforming emulator response fails it."""
    operation = next(
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().label == "GET /api/projects/{project_id}/persons/{id}/"
    )
    fake = FakePostHog(5, seed=1, validate=False)
    fake.override("persons_retrieve", json={"id": "not-an-int", "uuid": 5})
    with fake.serve() as running:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=3,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            _exercise(case, fake, running.url)

        with pytest.raises(BaseException) as raised:
            run()
    found: list[BaseException] = [raised.value]
    while found and not isinstance(found[0], JsonSchemaError):
        first = found.pop(0)
        found.extend(getattr(first, "exceptions", ()))
    assert found, f"expected a schema violation, got {raised.value!r}"
