"""An answer without the documented shape is a server failure, never an empty result."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from facade_support import body, person_uuid, run_async

from posthog_persons import BulkDeleteError, MalformedResponseError, ServerError

LOOKUP_ANSWERS = [{"results": None}, {"results": []}, {"results": "x"}, {}, [], None]


@pytest.mark.parametrize("answer", LOOKUP_ANSWERS)
def test_a_lookup_without_results_raises(make_client, answer: Any) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json=answer))
    with pytest.raises(MalformedResponseError, match="unexpected response") as caught:
        client.get_persons_by_distinct_ids(["a"])
    assert isinstance(caught.value, ServerError)  # callers treat it as the server failing
    assert (caught.value.method, caught.value.status_code) == ("POST", 200)
    with pytest.raises(MalformedResponseError):
        client.get_persons_by_uuids([person_uuid(1)])


def test_an_empty_lookup_answer_is_still_nothing_found(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json={"results": {}}))
    assert client.get_persons_by_distinct_ids(["a"]) == {}


@pytest.mark.parametrize(
    "answer",
    [{"persons_found": 1}, {"persons_deleted": 1}, {"persons_found": None, "persons_deleted": 1},
     {"persons_found": "1", "persons_deleted": 1}, {}, None, []],
)  # fmt: skip
def test_a_bulk_delete_without_its_counts_stops_the_job(make_client, answer: Any) -> None:
    client, recorder = make_client(lambda r: httpx.Response(202, json=answer))
    ids = [person_uuid(i) for i in range(3)]
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(ids=ids)
    assert isinstance(caught.value, MalformedResponseError)
    assert caught.value.remaining == ids and caught.value.result.batches == 0
    assert len(recorder.requests) == 1


def test_resolving_distinct_ids_from_a_null_lookup_stops_before_any_delete(make_client) -> None:
    """Issue 11 #3: a job must not conclude "nothing to delete" from an unreadable lookup."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch_by_distinct_ids/"):
            return httpx.Response(200, json={"results": None})
        pytest.fail(f"sent {body(request)}")

    client, _ = make_client(handle)
    with pytest.raises(BulkDeleteError) as caught:
        client.bulk_delete(distinct_ids=["a", "b"], delete_events=True)
    assert isinstance(caught.value.cause, MalformedResponseError)
    assert caught.value.remaining == ["a", "b"]


@pytest.mark.parametrize("answer", [{"results": None, "next": None}, {"next": None}, None, []])
def test_a_list_page_without_results_raises(make_client, answer: Any) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json=answer))
    with pytest.raises(MalformedResponseError, match=r"results|JSON object"):
        list(client.iter_persons())
    with pytest.raises(MalformedResponseError):
        list(client.deletion_status())


def test_a_body_that_is_not_json_raises(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(MalformedResponseError, match="not JSON"):
        list(client.iter_persons())


def test_async_malformed_lookup(make_async_client) -> None:
    client, _ = make_async_client(lambda r: httpx.Response(200, json={"results": None}))

    async def main() -> None:
        async with client:
            await client.get_persons_by_distinct_ids(["a"])

    with pytest.raises(MalformedResponseError):
        run_async(main())
