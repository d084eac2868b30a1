"""Status -> exception mapping, and the retry policy: what is retried, how long it waits."""

from __future__ import annotations

import logging

import httpx
import pytest
from facade_support import KEY, list_server, page, person_json, query, run_async

from posthog_persons import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    PostHogError,
    RateLimitError,
    ServerError,
)
from posthog_persons.errors import error_from_response
from posthog_persons.retry import RetryPolicy, parse_retry_after


def drf(detail: str, code: str = "invalid") -> dict[str, object]:
    return {"type": "validation_error", "code": code, "detail": detail, "attr": None}


@pytest.mark.parametrize(
    ("status", "payload", "cls", "text"),
    [
        (400, drf('"abc" does not look like a personID'), BadRequestError, "does not look like"),
        (
            401,
            drf("Invalid personal API key.", "authentication_failed"),
            AuthenticationError,
            "Invalid",
        ),
        (404, drf("Not found.", "not_found"), NotFoundError, "Not found."),
        (403, {"error": "forbidden"}, PermissionDeniedError, "forbidden"),
        (409, drf("conflict"), APIError, "409 Conflict: conflict"),
    ],
)
def test_client_errors_are_mapped_and_never_retried(
    make_client, status, payload, cls, text
) -> None:
    client, recorder = make_client(lambda r: httpx.Response(status, json=payload))
    with pytest.raises(cls, match=text) as caught:
        client.get_person(1)
    assert len(recorder.requests) == 1
    assert caught.value.status_code == status
    assert isinstance(caught.value, APIError) and isinstance(caught.value, PostHogError)
    assert KEY not in str(caught.value)


def test_403_names_the_missing_scope(make_client) -> None:
    detail = "API key missing required scope 'person:write'"
    client, recorder = make_client(
        lambda r: httpx.Response(403, json=drf(detail, "permission_denied"))
    )
    with pytest.raises(PermissionDeniedError) as caught:
        client.update_properties(1, {"plan": "pro"})
    assert caught.value.missing_scope == "person:write"
    assert "lacks the 'person:write' scope" in str(caught.value)
    assert len(recorder.requests) == 1


def test_error_bodies_that_are_not_json(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(404, text="<html>no</html>"))
    with pytest.raises(NotFoundError, match="<html>no</html>"):
        client.get_person(1)
    client, _ = make_client(lambda r: httpx.Response(500, text=""))
    with pytest.raises(ServerError, match=r"^500 Internal Server Error$"):
        client.get_person(1)


def test_a_500_is_not_retried_but_502_503_504_are(make_client) -> None:
    client, recorder = make_client(lambda r: httpx.Response(500, json=drf("boom")))
    with pytest.raises(ServerError):
        client.get_person(1)
    assert len(recorder.requests) == 1
    for status in (502, 503, 504):
        answers = iter([httpx.Response(status), httpx.Response(200, json=person_json(0))])
        client, recorder = make_client(lambda r, a=answers: next(a))
        assert client.get_person(1).id == 1
        assert len(recorder.requests) == 2


def test_a_429_storm_honours_retry_after_then_succeeds(make_client, clock, caplog) -> None:
    caplog.set_level(logging.INFO, logger="posthog_persons")
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": str(s)}, json=drf("Throttled"))
            for s in (3, 7, 11)
        ]
        + [httpx.Response(200, json=person_json(0))]
    )
    client, recorder = make_client(lambda r: next(answers))
    assert client.get_person("1").id == 1
    assert len(recorder.requests) == 4
    assert clock.sleeps == [3, 7, 11]
    assert caplog.text.count("HTTP 429 on GET /api/projects/1/persons/1/") == 3
    assert KEY not in caplog.text


def test_429_beyond_max_retries_raises_rate_limit_error_with_retry_after(
    make_client, clock
) -> None:
    client, recorder = make_client(
        lambda r: httpx.Response(429, headers={"Retry-After": "2"}, json=drf("Throttled")),
        max_retries=3,
    )
    with pytest.raises(RateLimitError) as caught:
        client.get_person(1)
    assert caught.value.retry_after == 2
    assert len(recorder.requests) == 4
    assert clock.sleeps == [2, 2, 2]


def test_a_retry_after_beyond_the_cap_is_not_waited_out(make_client, clock) -> None:
    client, recorder = make_client(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitError, match="retry after 3600s") as caught:
        client.get_person(1)
    assert caught.value.retry_after == 3600
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


def test_backoff_without_retry_after_is_exponential_with_full_jitter(make_client, clock) -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=0.5, backoff_max=4.0, jitter=lambda: 1.0)
    client, _recorder = make_client(lambda r: httpx.Response(503), retry_policy=policy)
    with pytest.raises(ServerError):
        client.get_person(1)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]
    zero = RetryPolicy(jitter=lambda: 0.0)
    assert zero.delay(3) == 0.0
    real = RetryPolicy()
    assert all(0 <= real.delay(4) <= 8.0 for _ in range(100))  # type: ignore[operator]
    assert real.delay(5) is None


def test_a_503_mid_iteration_is_retried_transparently(make_client) -> None:
    records = [person_json(i) for i in range(300)]
    failed: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        offset = query(request)["offset"]
        if offset == "100" and offset not in failed:
            failed.add(offset)
            return httpx.Response(503, text="upstream unavailable")
        return list_server(records)(request)

    client, recorder = make_client(handler)
    assert len(list(client.iter_persons())) == 300
    assert [query(r)["offset"] for r in recorder.requests] == ["0", "100", "100", "200", "300"]


def test_connection_errors_are_retried_then_raise_api_connection_error(make_client, clock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, recorder = make_client(refuse, max_retries=2)
    with pytest.raises(
        APIConnectionError, match=r"could not reach https://ph\.example\.com"
    ) as caught:
        client.get_person(1)
    assert len(recorder.requests) == 3 and len(clock.sleeps) == 2
    assert KEY not in str(caught.value) and KEY not in repr(caught.value.__cause__)

    flaky = iter([httpx.ReadTimeout("slow"), None])

    def once(request: httpx.Request) -> httpx.Response:
        error = next(flaky)
        if error:
            raise error
        return httpx.Response(200, json=person_json(0))

    client, recorder = make_client(once)
    assert client.get_person(1).id == 1 and len(recorder.requests) == 2


def test_timeouts_raise_api_timeout_error(make_client) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = make_client(slow, max_retries=1)
    with pytest.raises(APITimeoutError):
        client.get_person(1)


def test_max_retries_zero_means_one_attempt(make_client) -> None:
    client, recorder = make_client(lambda r: httpx.Response(503), max_retries=0)
    with pytest.raises(ServerError):
        client.get_person(1)
    assert len(recorder.requests) == 1


def test_error_from_response_is_the_one_mapping() -> None:
    headers = httpx.Headers({"Retry-After": "5"})
    cases = {400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
             404: NotFoundError, 429: RateLimitError, 500: ServerError, 503: ServerError,
             418: APIError}  # fmt: skip
    for status, cls in cases.items():
        error = error_from_response(status, headers, b'{"detail": "d", "code": "c"}')
        assert type(error) is cls
        assert (error.status_code, error.detail, error.code, error.body) == (
            status, "d", "c", {"detail": "d", "code": "c"}
        )  # fmt: skip
    assert error_from_response(429, headers, b"").retry_after == 5  # type: ignore[attr-defined]


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10


def test_async_retries_and_mapping(make_async_client, clock) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "4"}),
            httpx.Response(503),
            httpx.Response(404, json=drf("Not found.")),
        ]
    )
    client, recorder = make_async_client(lambda r: next(answers))

    async def main() -> None:
        async with client:
            await client.get_person(1)

    with pytest.raises(NotFoundError):
        run_async(main())
    assert len(recorder.requests) == 3
    assert clock.sleeps[0] == 4


def test_async_connection_error(make_async_client) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, recorder = make_async_client(refuse, max_retries=1)

    async def main() -> None:
        async with client:
            await client.get_person(1)

    with pytest.raises(APIConnectionError):
        run_async(main())
    assert len(recorder.requests) == 2


def test_async_503_mid_iteration(make_async_client) -> None:
    records = [person_json(i) for i in range(150)]
    failures = iter([True])

    def handler(request: httpx.Request) -> httpx.Response:
        if query(request)["offset"] == "100" and next(failures, False):
            return httpx.Response(503)
        q = query(request)
        offset = int(q["offset"])
        return page(records[offset : offset + 100], request, None)

    client, recorder = make_async_client(handler)

    async def main() -> int:
        async with client:
            return len([p async for p in client.iter_persons()])

    assert run_async(main()) == 150
    assert len(recorder.requests) == 3


def test_timeouts_are_retried_with_backoff_then_raise(make_client, clock) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    client, recorder = make_client(slow, max_retries=3)
    with pytest.raises(APITimeoutError, match=r"timed out talking to https://ph\.example\.com"):
        client.get_person(1)
    assert len(recorder.requests) == 4 and len(clock.sleeps) == 3
    assert isinstance(APITimeoutError("x"), APIConnectionError)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422])
def test_4xx_is_never_retried_by_any_operation(make_client, status) -> None:
    client, recorder = make_client(lambda r: httpx.Response(status, json=drf(f"no ({status})")))
    calls = [
        lambda: client.get_person(1),
        lambda: list(client.iter_persons()),
        lambda: client.get_persons_by_distinct_ids(["a"]),
        lambda: client.bulk_delete(ids=[person_json(0)["uuid"]]),
        lambda: list(client.deletion_status()),
        lambda: client.wait_for_deletions([person_json(0)["uuid"]], timeout=60),
        lambda: client.update_properties(1, {"a": 1}),
    ]
    for call in calls:
        with pytest.raises(PostHogError, match=rf"no \({status}\)"):
            call()
    assert len(recorder.requests) == len(calls)


def test_an_undecodable_body_is_a_posthog_error_not_an_httpx_one(make_client) -> None:
    def gzip_lie(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    client, _ = make_client(gzip_lie)
    with pytest.raises(PostHogError, match="unexpected response") as caught:
        client.get_person(1)
    assert isinstance(caught.value.__cause__, httpx.DecodingError)
    from posthog_persons import BulkDeleteError

    with pytest.raises(BulkDeleteError) as failed:
        client.bulk_delete(ids=[person_json(0)["uuid"]])
    assert failed.value.remaining == [person_json(0)["uuid"]]


def test_async_a_429_storm_honours_retry_after(make_async_client, clock) -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": str(s)}) for s in (3, 7, 11)]
        + [httpx.Response(200, json=person_json(0))]
    )
    client, recorder = make_async_client(lambda r: next(answers))

    async def main() -> int | None:
        async with client:
            return (await client.get_person(1)).id

    assert run_async(main()) == 1
    assert len(recorder.requests) == 4 and clock.sleeps == [3, 7, 11]


def test_async_4xx_is_never_retried_and_403_names_the_scope(make_async_client) -> None:
    detail = "API key missing required scope 'person:read'"
    client, recorder = make_async_client(lambda r: httpx.Response(403, json=drf(detail)))

    async def main() -> None:
        async with client:
            with pytest.raises(PermissionDeniedError, match="person:read") as caught:
                await client.get_person(1)
            assert caught.value.missing_scope == "person:read"
            assert caught.value.detail == detail
            with pytest.raises(PermissionDeniedError):
                [p async for p in client.iter_persons()]

    run_async(main())
    assert len(recorder.requests) == 2


def test_async_timeouts_raise_api_timeout_error_after_retries(make_async_client, clock) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, recorder = make_async_client(slow, max_retries=2)

    async def main() -> None:
        async with client:
            await client.get_person(1)

    with pytest.raises(APITimeoutError):
        run_async(main())
    assert len(recorder.requests) == 3 and len(clock.sleeps) == 2
