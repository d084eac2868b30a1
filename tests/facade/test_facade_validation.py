"""The one id validation rule, public for the CLI, and the facade applying it."""

from __future__ import annotations

import uuid

import pytest

import posthog_persons
from posthog_persons import InvalidInputError, validate_distinct_id, validate_uuid

CANONICAL = "0190b5a8-7c1d-7000-8000-00000000abcd"


@pytest.mark.parametrize(
    "value",
    ["alice", "alice@example.com", " alice", "alice ", "a" * 400, "名前", CANONICAL, "0"],
)
def test_distinct_ids_are_taken_exactly(value: str) -> None:
    assert validate_distinct_id(value) == value  # nothing stripped or changed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("a" * 401, "too long"),
        ("tab\there", "control characters"),
        ("nul\x00", "control characters"),
        ("esc\x1b[31m", "control characters"),
        ("c1\x85", "control characters"),
        (42, "not a string"),
        (b"bytes", "not a string"),
        (None, "not a string"),
    ],
)
def test_what_cannot_be_a_distinct_id_is_refused_naming_it(value: object, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_distinct_id(value)
    assert caught.value.reason == reason
    assert repr(value)[:20] in str(caught.value) or reason == "too long"


@pytest.mark.parametrize(
    "value",
    [CANONICAL, CANONICAL.upper(), "{" + CANONICAL + "}", CANONICAL.replace("-", ""),
     "urn:uuid:" + CANONICAL, uuid.UUID(CANONICAL)],
)  # fmt: skip
def test_uuids_in_any_form_uuid_reads_become_canonical(value: object) -> None:
    assert validate_uuid(value) == CANONICAL


@pytest.mark.parametrize("value", ["alice", " " + CANONICAL, CANONICAL + "\n", "12", "", 12, None])
def test_what_is_not_a_uuid_is_refused_naming_it(value: object) -> None:
    with pytest.raises(InvalidInputError, match="not a valid person UUID") as caught:
        validate_uuid(value)
    assert caught.value.reason == "not a UUID" and repr(value)[:20] in str(caught.value)


def test_the_rules_are_exported_and_the_facade_applies_them(make_client) -> None:
    assert {"validate_distinct_id", "validate_uuid"} <= set(posthog_persons.__all__)
    client, recorder = make_client(lambda r: pytest.fail("no request may be sent"))
    for call in (
        lambda: client.bulk_delete(distinct_ids=["ok", "x" * 401]),
        lambda: client.bulk_delete(distinct_ids=iter(["ok", "bell\x07"])),
        lambda: client.get_persons_by_distinct_ids(["ok", "\x00"]),
        lambda: client.get_persons_by_uuids([CANONICAL, " " + CANONICAL]),
        lambda: client.bulk_delete(ids=["alice"]),
    ):
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert caught.value.reason in {"too long", "control characters", "not a UUID"}
    assert recorder.requests == []
