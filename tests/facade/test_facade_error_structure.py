"""Errors carry structure (not only text), pickle and copy, and never show the key."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from typing import Any

import httpx
import pytest
from facade_support import KEY, person_uuid, run_async

from posthog_persons import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BulkDeleteError,
    BulkDeleteInputError,
    BulkDeleteResult,
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    PostHogError,
    RateLimitError,
    ServerError,
)
from posthog_persons.errors import APITimeoutError, error_from_response


def _examples() -> list[PostHogError]:
    api = {"method": "GET", "path": "/api/projects/1/persons/5/", "detail": "d", "body": {"a": 1}}
    result = BulkDeleteResult(requested=1000, persons_deleted=990, batches=1, errors=("x",))
    causes: list[PostHogError] = [
        APIError("409", status_code=409, **api),
        BadRequestError("400", status_code=400, **api),
        AuthenticationError("401", status_code=401, **api),
        PermissionDeniedError("403", status_code=403, missing_scope="person:write", **api),
        NotFoundError("404", status_code=404, resource="person", **api),
        RateLimitError("429", status_code=429, retry_after=3.0, **api),
        ServerError("502", status_code=502, **api),
        MalformedResponseError("bad", status_code=200, **api),
        APIConnectionError("down"),
        APITimeoutError("slow"),
        ConfigurationError("no key", setting="api_key", env_var="POSTHOG_PERSONAL_API_KEY"),
        InvalidInputError("bad id", reason="not a UUID"),
        PostHogError("plain"),
    ]
    stopped = [
        BulkDeleteError(cause, result=result, remaining=["a", "b"])
        for cause in causes
        if not isinstance(cause, ConfigurationError)
    ]
    return causes + stopped


@pytest.mark.parametrize("error", _examples(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_and_copies_equal(error: PostHogError) -> None:
    """Process pools and task queues pickle exceptions; a copy must be the same error."""
    for clone in (
        pickle.loads(pickle.dumps(error)),
        copy.copy(error),
        copy.deepcopy(error),
    ):
        assert type(clone) is type(error)
        assert clone == error and hash(clone) == hash(error)
        assert str(clone) == str(error) and vars(clone).keys() == vars(error).keys()
    assert error != PostHogError("something else")


def test_a_bulk_delete_stopped_by_a_status_is_also_of_that_status_class() -> None:
    """`except PermissionDeniedError` catches a bulk delete refused for a missing scope."""
    result = BulkDeleteResult(requested=0)
    cause = error_from_response(
        403, {}, b'{"detail": "API key missing required scope \'person:write\'"}'
    )
    error = BulkDeleteError(cause, result=result, remaining=["a"])
    assert isinstance(error, BulkDeleteError) and isinstance(error, PermissionDeniedError)
    assert (error.status_code, error.missing_scope, error.remaining) == (403, "person:write", ["a"])
    assert type(error).__name__ == "BulkDeletePermissionDeniedError"
    for status, cls in [(401, AuthenticationError), (404, NotFoundError), (503, ServerError)]:
        stopped = BulkDeleteError(error_from_response(status, {}, b""), result=result, remaining=[])
        assert isinstance(stopped, cls) and isinstance(stopped, BulkDeleteError)
        assert stopped.status_code == status
    bad_id = BulkDeleteError(InvalidInputError("x"), result=result, remaining=[])
    assert type(bad_id) is BulkDeleteInputError


def test_a_pickled_bulk_delete_error_says_its_unconsumed_iterator_stayed_behind() -> None:
    rest = (str(i) for i in range(5))
    error = BulkDeleteError(
        ServerError("502", status_code=502), result=BulkDeleteResult(), remaining=["a"],
        unconsumed=rest,
    )  # fmt: skip
    assert not error.unconsumed_dropped
    assert copy.copy(error).unconsumed is rest  # a shallow copy shares the iterator
    clone = pickle.loads(pickle.dumps(error))
    assert clone.unconsumed_dropped and list(clone.resume_ids()) == ["a"]
    assert list(error.resume_ids()) == ["a", "0", "1", "2", "3", "4"]


def _bulk_delete_stopped_by(make_client: Any, status: int, detail: str) -> BulkDeleteError:
    client, recorder = make_client(lambda r: httpx.Response(status, json={"detail": detail}))
    ids = [person_uuid(i) for i in range(1500)]
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(ids=ids)
    assert len(recorder.requests) == 1
    assert caught.value.remaining == ids
    return caught.value


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)],
)
def test_bulk_delete_refused_is_catchable_by_status(make_client, status: int, cls: type) -> None:
    error = _bulk_delete_stopped_by(make_client, status, "Project not found.")
    assert isinstance(error, cls) and isinstance(error.cause, cls)
    assert (error.method, error.path) == ("POST", "/api/projects/1/persons/bulk_delete/")
    try:
        raise error
    except cls as caught:  # what a caller writes
        assert caught.remaining == error.remaining  # type: ignore[attr-defined]


def test_api_errors_say_method_and_path_never_the_query(make_client) -> None:
    client, recorder = make_client(lambda r: httpx.Response(400, json={"detail": "bad filter"}))
    with pytest.raises(BadRequestError) as caught:
        list(client.iter_persons(email="alice@example.com"))
    error = caught.value
    assert (error.status_code, error.method, error.path) == (400, "GET", "/api/projects/1/persons/")
    assert "alice" not in repr(vars(error)) and "alice" in str(recorder.requests[0].url)


@pytest.mark.parametrize(
    ("call", "detail", "resource"),
    [
        (lambda c: c.get_person(5), "Not found.", "person"),
        (lambda c: c.update_properties(5, {"a": 1}), "Not found.", "person"),
        (lambda c: c.get_person(5), "Project not found.", "project"),
        (lambda c: list(c.iter_persons()), "Not found.", "project"),
        (lambda c: c.get_persons_by_distinct_ids(["a"]), "Not found.", "project"),
        (lambda c: list(c.deletion_status()), "Not found.", "project"),
    ],
)
def test_not_found_says_what_was_not_found(make_client, call, detail: str, resource: str) -> None:
    """On a path naming no person, a 404 can only be the project; on a person's path it is
    the person unless the server says "project" (its routing answers "Project not found.")."""
    client, _ = make_client(lambda r: httpx.Response(404, json={"detail": detail}))
    with pytest.raises(NotFoundError) as caught:
        call(client)
    assert caught.value.resource == resource


ECHO = f"Authorization header 'Bearer {KEY}' is not valid for this project"


def _echoing(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/bulk_delete/"):
        return httpx.Response(403, json={"detail": ECHO, "seen": {"auth": f"Bearer {KEY}"}})
    return httpx.Response(401, text=f"<html>{request.headers['Authorization']}</html>")


def _texts_of(error: BaseException) -> str:
    frames = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "\n".join(
        ["".join(traceback.format_exception(error)), "".join(frames.format()), repr(error),
         str(error), repr(vars(error)), repr(pickle.loads(pickle.dumps(error)))]
    )  # fmt: skip


def test_a_key_echoed_by_the_server_is_redacted_everywhere(make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(_echoing)
    with pytest.raises(AuthenticationError) as lookup_error:
        client.get_person(1)
    with pytest.raises(BulkDeleteError) as delete_error:
        client.bulk_delete(ids=[person_uuid(1)])
    for error in (lookup_error.value, delete_error.value):
        texts = _texts_of(error)
        assert KEY not in texts and "[REDACTED]" in texts
    assert delete_error.value.body["seen"]["auth"] == "Bearer [REDACTED]"  # type: ignore[attr-defined]
    logging.getLogger("posthog_persons").warning("stopped: %s", delete_error.value)
    assert KEY not in caplog.text


def test_async_errors_carry_the_same_structure(make_async_client) -> None:
    client, _ = make_async_client(lambda r: httpx.Response(404, json={"detail": "Not found."}))

    async def main() -> None:
        async with client:
            await client.get_person(person_uuid(1))

    with pytest.raises(NotFoundError) as caught:
        run_async(main())
    assert caught.value.resource == "person"
    assert caught.value.path == f"/api/projects/1/persons/{person_uuid(1)}/"
    assert pickle.loads(pickle.dumps(caught.value)) == caught.value


def test_a_key_quoted_by_a_transport_error_is_redacted(make_client) -> None:
    """A protocol error can quote what a (hostile) server sent: the key it echoed too."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"illegal header: {request.headers['Authorization']}")

    client, _ = make_client(handler, max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        client.get_person(1)
    texts = _texts_of(caught.value)
    assert KEY not in texts and "[REDACTED]" in texts


def test_log_records_never_carry_an_echoed_key(make_client, caplog) -> None:
    """A transient failure during a wait is logged (message and args), never raised."""
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(
        lambda r: httpx.Response(
            503, json={"detail": f"upstream saw {r.headers['Authorization']}"}
        ),
        max_retries=0,
    )
    result = client.wait_for_deletions([person_uuid(1)], timeout=0)
    assert not result.done
    assert caplog.records, "the failed poll is logged"
    for record in caplog.records:
        texts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
        assert all(KEY not in text for text in texts)
    assert "[REDACTED]" in caplog.text
