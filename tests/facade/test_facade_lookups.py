"""Batch lookups (200 per call), get_person's id rules, property edits."""

from __future__ import annotations

import uuid

import httpx
import pytest
from facade_support import body, person_json, person_uuid, run_async

from posthog_persons import InvalidInputError, NotFoundError, Person


def lookup_server(request: httpx.Request) -> httpx.Response:
    data = body(request)
    if "uuids" in data:
        keys = data["uuids"][:200]  # the server silently ignores the rest
        return httpx.Response(
            200, json={"results": {u: person_json(int(u[-8:], 16) - 1) for u in keys}}
        )
    keys = data["distinct_ids"][:200]
    hits = {d: person_json(int(d.split("-")[1])) for d in keys if not d.startswith("unknown")}
    return httpx.Response(200, json={"results": hits})


def test_450_distinct_ids_are_exactly_3_calls(make_client) -> None:
    client, recorder = make_client(lookup_server)
    ids = [f"user-{i}" for i in range(450)]
    found = client.get_persons_by_distinct_ids([*ids, "user-0", "user-449"])
    assert [len(b["distinct_ids"]) for b in recorder.bodies()] == [200, 200, 50]
    assert recorder.paths() == ["/api/projects/1/persons/batch_by_distinct_ids/"] * 3
    assert set(found) == set(ids)
    assert isinstance(found["user-7"], Person) and found["user-7"].id == 8


def test_ids_not_found_are_absent(make_client) -> None:
    client, _ = make_client(lookup_server)
    assert set(client.get_persons_by_distinct_ids(["user-1", "unknown-2"])) == {"user-1"}


def test_450_uuids_are_3_calls_with_canonical_keys(make_client) -> None:
    client, recorder = make_client(lookup_server)
    uuids = [person_uuid(i) for i in range(450)]
    found = client.get_persons_by_uuids([u.upper() for u in uuids] + [uuid.UUID(uuids[0])])
    assert [len(b["uuids"]) for b in recorder.bodies()] == [200, 200, 50]
    assert sorted(found) == sorted(uuids)
    assert found[uuids[3]].uuid == uuids[3]


def test_the_minimal_record_is_read_defensively(make_client) -> None:
    minimal = {"uuid": person_uuid(0), "distinct_ids": ["a"], "is_identified": False}
    client, _ = make_client(lambda r: httpx.Response(200, json={"results": {"a": minimal}}))
    (person,) = client.get_persons_by_distinct_ids(["a"]).values()
    assert (person.id, person.name, person.extra) == (None, None, {"is_identified": False})


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("get_persons_by_uuids", ["user-1"], "'user-1' is not a valid person UUID"),
        ("get_persons_by_uuids", person_uuid(1), "not a single string"),
        ("get_persons_by_distinct_ids", "user-1", "not a single string"),
        ("get_persons_by_distinct_ids", ["ok", ""], "empty distinct id"),
        ("get_persons_by_distinct_ids", None, "iterable"),
    ],
)
def test_bad_lookup_input_sends_nothing(make_client, method, value, message) -> None:
    client, recorder = make_client(lookup_server)
    with pytest.raises(InvalidInputError, match=message):
        getattr(client, method)(value)
    assert recorder.requests == []


def test_empty_lookup_sends_nothing(make_client) -> None:
    client, recorder = make_client(lookup_server)
    assert client.get_persons_by_uuids([]) == {}
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("person_id", "path"),
    [(12, "12"), ("12", "12"), (person_uuid(5), person_uuid(5)),
     (person_uuid(5).upper(), person_uuid(5)), (uuid.UUID(int=6), person_uuid(5))],
)  # fmt: skip
def test_get_person_accepts_numeric_ids_and_uuids(make_client, person_id, path) -> None:
    client, recorder = make_client(lambda r: httpx.Response(200, json=person_json(0)))
    assert client.get_person(person_id).uuid == person_uuid(0)
    assert recorder.paths() == [f"/api/projects/1/persons/{path}/"]


@pytest.mark.parametrize("person_id", ["user@example.com", "user-1", "", -1, 1.5, None, True])
def test_get_person_rejects_anything_else_with_a_distinct_id_hint(make_client, person_id) -> None:
    client, recorder = make_client(lambda r: httpx.Response(200, json=person_json(0)))
    with pytest.raises(InvalidInputError, match=r"use iter_persons\(distinct_id=") as caught:
        client.get_person(person_id)
    assert repr(person_id)[:20] in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert recorder.requests == []


def test_get_person_404(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(404, json={"detail": "Not found."}))
    with pytest.raises(NotFoundError):
        client.get_person(99)


def test_update_properties_and_delete_property(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return httpx.Response(202)
        return httpx.Response(201, json={"success": True})

    client, recorder = make_client(handler)
    assert client.update_properties(7, {"plan": "pro", "n": 1}) is None
    assert client.delete_property(person_uuid(1), "plan") is None
    first, second = recorder.requests
    assert (first.method, first.url.path, body(first)) == (
        "PATCH", "/api/projects/1/persons/7/", {"properties": {"plan": "pro", "n": 1}}
    )  # fmt: skip
    assert (second.method, second.url.path, body(second)) == (
        "POST", f"/api/projects/1/persons/{person_uuid(1)}/delete_property/", {"$unset": "plan"}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("call", "args"),
    [("update_properties", (1, ["plan"])), ("update_properties", ("d-1", {})),
     ("delete_property", (1, "")), ("delete_property", (1, 5))],
)  # fmt: skip
def test_bad_edits_send_nothing(make_client, call, args) -> None:
    client, recorder = make_client(lambda r: httpx.Response(202))
    with pytest.raises(InvalidInputError):
        getattr(client, call)(*args)
    assert recorder.requests == []


def test_async_lookups_and_get_person(make_async_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/batch_by_distinct_ids/", "/batch_by_uuids/")):
            return lookup_server(request)
        if request.url.path.endswith("/delete_property/"):
            return httpx.Response(201, json={"success": True})
        return httpx.Response(202 if request.method == "PATCH" else 200, json=person_json(2))

    client, recorder = make_async_client(handler)

    async def main():
        async with client:
            found = await client.get_persons_by_distinct_ids([f"user-{i}" for i in range(450)])
            by_uuid = await client.get_persons_by_uuids([person_uuid(1)])
            person = await client.get_person(3)
            with pytest.raises(InvalidInputError):
                await client.get_person("someone@example.com")
            await client.update_properties(3, {"a": 1})
            await client.delete_property(3, "a")
            return found, by_uuid, person

    found, by_uuid, person = run_async(main())
    assert len(found) == 450 and list(by_uuid) == [person_uuid(1)] and person.id == 3
    assert len(recorder.requests) == 3 + 1 + 1 + 2


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("get_persons_by_distinct_ids", b"user-1", "not a single string"),
        ("get_persons_by_distinct_ids", bytearray(b"user-1"), "not a single string"),
        ("get_persons_by_uuids", person_uuid(1).encode(), "not a single string"),
        ("get_persons_by_distinct_ids", ["user-1", None], "distinct ids are strings; got None"),
        ("get_persons_by_distinct_ids", [b"user-1"], r"distinct ids are strings; got b'user-1'"),
        ("get_persons_by_uuids", [person_uuid(1), None], "None is not a valid person UUID"),
        ("get_persons_by_uuids", [person_uuid(1), ""], "'' is not a valid person UUID"),
        ("get_persons_by_uuids", 42, "iterable of ids, got 42"),
        ("get_persons_by_distinct_ids", {"user-1": 1}, "iterable"),
    ],
)
def test_strings_bytes_and_none_are_never_iterated_or_sent(
    make_client, method, value, message
) -> None:
    client, recorder = make_client(lookup_server)
    with pytest.raises(InvalidInputError, match=message):
        getattr(client, method)(value)
    assert recorder.requests == []


def test_the_parameter_names_of_the_issue_work_as_keywords(make_client) -> None:
    client, recorder = make_client(lookup_server)
    assert set(client.get_persons_by_distinct_ids(ids=["user-1"])) == {"user-1"}
    assert set(client.get_persons_by_uuids(uuids=[person_uuid(1)])) == {person_uuid(1)}
    assert len(recorder.requests) == 2


def test_uuid_keys_are_canonical_whatever_the_server_sends(make_client) -> None:
    def upper(request: httpx.Request) -> httpx.Response:
        keys = body(request)["uuids"]
        return httpx.Response(200, json={"results": {u.upper(): person_json(0) for u in keys}})

    client, _ = make_client(upper)
    assert list(client.get_persons_by_uuids([person_uuid(0)])) == [person_uuid(0)]


@pytest.mark.parametrize("person_id", ["²", "١٢", "12a", " ", "0x10"])
def test_get_person_only_takes_ascii_digits_as_numeric_ids(make_client, person_id) -> None:
    client, recorder = make_client(lambda r: httpx.Response(200, json=person_json(0)))
    with pytest.raises(InvalidInputError, match="neither a numeric person id nor a person UUID"):
        client.get_person(person_id)
    assert recorder.requests == []


def test_async_bad_lookup_input_sends_nothing(make_async_client) -> None:
    client, recorder = make_async_client(lookup_server)

    async def main() -> None:
        async with client:
            for call, value in [
                (client.get_persons_by_distinct_ids, "user-1"),
                (client.get_persons_by_distinct_ids, b"user-1"),
                (client.get_persons_by_uuids, ["user-1"]),
                (client.get_persons_by_uuids, [None]),
            ]:
                with pytest.raises(InvalidInputError):
                    await call(value)  # type: ignore[operator]
            assert await client.get_persons_by_uuids([]) == {}

    run_async(main())
    assert recorder.requests == []


def test_async_450_uuid_lookups_are_3_calls(make_async_client) -> None:
    client, recorder = make_async_client(lookup_server)
    uuids = [person_uuid(i) for i in range(450)]

    async def main() -> dict[str, Person]:
        async with client:
            return await client.get_persons_by_uuids([*uuids, uuids[0].upper()])

    assert sorted(run_async(main())) == sorted(uuids)
    assert [len(b["uuids"]) for b in recorder.bodies()] == [200, 200, 50]
