"""Every cassette: no secret in it, and every exchange conforms to the committed schema.

A regeneration that changes the contract turns the cassettes it affects red here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from replay_support import CASSETTES

from posthog_persons.testing._contract import ContractRequest, ContractValidator

SCHEMA = Path(__file__).resolve().parents[2] / "openapi" / "posthog-persons.json"
CASSETTE_FILES = sorted(CASSETTES.rglob("*.yaml"))
# A personal API key, a project API key or a session token, whatever the redaction said.
SECRET = re.compile(r"ph[a-z]_(?!REDACTED)[A-Za-z0-9_-]{8,}")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CASSETTES)) for p in paths]


def test_there_are_cassettes_for_every_module() -> None:
    assert {p.parent.name for p in CASSETTE_FILES} >= {"test_generated_operations"}


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=_ids(CASSETTE_FILES))
def test_cassette_holds_no_secret(cassette: Path) -> None:
    text = cassette.read_text(encoding="utf-8")
    assert SECRET.search(text) is None
    for interaction in yaml.safe_load(text)["interactions"]:
        for part in ("request", "response"):
            names = {name.lower() for name in interaction[part].get("headers", {})}
            assert not names & {"authorization", "cookie", "set-cookie"}, (part, names)


def _body(raw: object) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, dict):  # a response body is {"string": ...}
        raw = raw.get("string", "")
    return raw.encode() if isinstance(raw, str) else bytes(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=_ids(CASSETTE_FILES))
def test_cassette_conforms_to_the_committed_schema(cassette: Path) -> None:
    validator = ContractValidator(SCHEMA)
    interactions = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]
    assert interactions, "an empty cassette proves nothing"
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        headers = {k: v[0] for k, v in request.get("headers", {}).items()}
        # The key was scrubbed before recording; the schema still requires the scheme.
        headers["Authorization"] = "Bearer phx_REDACTED"
        body = _body(request.get("body"))
        content_type = headers.get("content-type", headers.get("Content-Type", "application/json"))
        sent = ContractRequest(request["method"], url.path, query, headers, body, content_type)
        if cassette.parent.name != "test_error_answers":  # those requests are wrong on purpose
            problem = validator.request_problem(sent)
            assert problem is None, f"{request['method']} {url.path}: {problem}"
        response_headers = {k: v[0] for k, v in response.get("headers", {}).items()}
        if "content-type" in response_headers:
            response_headers["Content-Type"] = response_headers["content-type"]
        validator.check_response(
            sent,
            response["status"]["code"],
            response_headers,
            _body(response.get("body")),
        )


def test_a_contract_change_turns_the_affected_cassette_red(tmp_path: Path) -> None:
    import json

    from posthog_persons.testing import EmulatorContractError

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    retrieve = schema["paths"]["/api/projects/{project_id}/persons/{id}/"]["get"]
    ref = retrieve["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    # As if upstream made a field required that the recorded server never sent (whatever
    # the record's schema is called today).
    schema["components"]["schemas"][ref.rsplit("/", 1)[-1]].setdefault("required", []).append(
        "cohort_ids"
    )
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(schema), encoding="utf-8")
    cassette = (
        CASSETTES / "test_generated_operations" / "test_generated_operation[persons_retrieve].yaml"
    )
    last = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][-1]
    path = urlsplit(last["request"]["uri"]).path
    headers = {"Authorization": "Bearer phx_REDACTED"}
    with pytest.raises(EmulatorContractError, match="cohort_ids"):
        ContractValidator(changed).check_response(
            ContractRequest("GET", path, {}, headers, b"", "application/json"),
            200,
            {"Content-Type": "application/json"},
            _body(last["response"]["body"]),
        )
