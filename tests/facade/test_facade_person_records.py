"""Persons built from records (iter_persons' hot path) behave as persons built eagerly.

`_convert.person` checks `uuid` at once and leaves `created_at`, `last_seen_at` and `extra` to
be read from the record on first access (models.person_from_record); nothing a caller can
observe may differ from `Person(...)` with the same values.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from posthog_persons import Person
from posthog_persons._convert import Malformed, person

UUID = "01900000-0000-7000-8000-000000000007"


def list_record(**changes: Any) -> dict[str, Any]:
    """A row of the 2026 server's persons list: an actor, with fields Person does not know."""
    record = {
        "id": UUID,
        "uuid": UUID,
        "type": "person",
        "is_identified": True,
        "name": "ada@example.com",
        "distinct_ids": ["user-7", "anon-7"],
        "properties": {"email": "ada@example.com", "plan": "pro"},
        "created_at": "2025-03-08T10:07:00.123000Z",
        "last_seen_at": None,
        "matched_recordings": [],
        "value_at_data_point": None,
    }
    return record | changes


def eager_person() -> Person:
    return Person(
        id=None,
        uuid=UUID,
        name="ada@example.com",
        distinct_ids=("user-7", "anon-7"),
        properties={"email": "ada@example.com", "plan": "pro"},
        created_at=datetime(2025, 3, 8, 10, 7, 0, 123000, tzinfo=UTC),
        last_seen_at=None,
        extra={
            "type": "person",
            "is_identified": True,
            "matched_recordings": [],
            "value_at_data_point": None,
        },
    )


def test_a_person_from_a_record_equals_the_eagerly_built_one() -> None:
    built = person(list_record())
    assert built == eager_person()
    assert eager_person() == person(list_record())
    assert repr(built) == repr(eager_person())
    assert attrs.asdict(person(list_record())) == attrs.asdict(eager_person())


def test_each_lazy_field_is_read_once_then_kept() -> None:
    built = person(list_record())
    assert built.created_at == datetime(2025, 3, 8, 10, 7, 0, 123000, tzinfo=UTC)
    assert built.extra is built.extra
    assert built.created_at is built.created_at
    assert built.last_seen_at is None


def test_lazy_fields_of_the_wrong_type_read_as_missing_never_raise() -> None:
    built = person(list_record(created_at=12, last_seen_at="not a date"))
    assert (built.created_at, built.last_seen_at) == (None, None)
    assert person({"uuid": UUID}).extra == {}


def test_a_person_from_a_record_is_unhashable_like_an_eager_one() -> None:
    # attrs' frozen hash covers `properties`, a dict: neither kind can be hashed.
    for built in (person(list_record()), eager_person()):
        with pytest.raises(TypeError, match="unhashable"):
            hash(built)


def test_a_person_from_a_record_pickles_and_copies_before_any_field_is_read() -> None:
    restored = pickle.loads(pickle.dumps(person(list_record())))
    assert restored == eager_person()
    assert copy.deepcopy(person(list_record())) == eager_person()
    assert copy.copy(person(list_record())) == eager_person()


def test_a_person_from_a_record_is_immutable_even_before_its_fields_are_read() -> None:
    built = person(list_record())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.created_at = None  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.uuid = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del built.extra  # type: ignore[misc]
    assert built == eager_person()


def test_evolve_keeps_the_lazy_fields() -> None:
    changed = attrs.evolve(person(list_record()), name="ada")
    assert changed == attrs.evolve(eager_person(), name="ada")


def test_an_unknown_attribute_still_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'email'"):
        person(list_record()).email  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    "record",
    [
        list_record(uuid=None),
        list_record(uuid=""),
        list_record(uuid=7),
        {k: v for k, v in list_record().items() if k != "uuid"},
        [list_record()],
        None,
    ],
    ids=["null-uuid", "empty-uuid", "int-uuid", "no-uuid", "a-list", "null"],
)
def test_a_malformed_record_raises_when_built_not_when_read(record: Any) -> None:
    with pytest.raises(Malformed):
        person(record)
