"""Construction: settings, environment defaults, ConfigurationError, secrets never shown."""

from __future__ import annotations

import logging
import pickle
import warnings

import httpx
import pytest
from facade_support import HOST, KEY, Recorder, person_json, run_async

import posthog_persons
from posthog_persons import AsyncPersonsClient, ConfigurationError, PersonsClient
from posthog_persons import errors as errors_module

ENV = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_PROJECT_ID", "POSTHOG_ENVIRONMENT_ID", "POSTHOG_HOST")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", KEY)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "42")
    with PersonsClient() as client:
        assert client.host == "https://us.posthog.com"
        assert (client.project_id, client.scope) == ("42", "projects")
    monkeypatch.setenv("POSTHOG_HOST", "https://eu.posthog.com/")
    monkeypatch.delenv("POSTHOG_PROJECT_ID")
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "7")
    with pytest.warns(DeprecationWarning, match="POSTHOG_ENVIRONMENT_ID.*POSTHOG_PROJECT_ID"):
        client = PersonsClient()
    with client:
        assert (client.host, client.project_id, client.scope) == (
            "https://eu.posthog.com",
            "7",
            "projects",
        )


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "7")
    with PersonsClient(KEY, project_id=3, host="http://localhost:8000") as client:
        assert (client.host, client.project_id, client.scope) == (
            "http://localhost:8000",
            "3",
            "projects",
        )


VALID = {"api_key": KEY, "project_id": 1}


@pytest.mark.parametrize(
    ("kwargs", "message", "setting"),
    [
        ({"project_id": 1}, "no API key", "api_key"),
        ({"api_key": "   ", "project_id": 1}, "no API key", "api_key"),
        ({"api_key": KEY}, "no project", "project_id"),
        ({**VALID, "environment_id": 2}, "not both", "environment_id"),
        ({"api_key": KEY, "project_id": "abc"}, "numeric", "project_id"),
        ({"api_key": KEY, "project_id": True}, "numeric", "project_id"),
        ({**VALID, "host": "us.posthog.com"}, "scheme", "host"),
        ({**VALID, "host": "ftp://us.posthog.com"}, "scheme", "host"),
        ({**VALID, "host": "https://us.posthog.com/api"}, "no path", "host"),
        ({**VALID, "host": "https://us.posthog.com/?x=1"}, "no path", "host"),
        ({**VALID, "host": "https://us.i.posthog.com"}, "ingestion", "host"),
        ({**VALID, "host": "https://eu.i.posthog.com/"}, "ingestion", "host"),
        ({**VALID, "timeout": 0}, "timeout", "timeout"),
        ({**VALID, "max_retries": -1}, "max_retries", "max_retries"),
        ({"api_key": "phx_with space", "project_id": 1}, "whitespace", "api_key"),
        ({**VALID, "pacer": "fast"}, "Pacer", "pacer"),
    ],
)  # fmt: skip
def test_bad_settings_raise_configuration_error(
    kwargs: dict[str, object], message: str, setting: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        PersonsClient(**kwargs)  # type: ignore[arg-type]
    assert KEY not in str(caught.value)
    assert (caught.value.setting, caught.value.env_var) == (setting, None)
    with pytest.raises(ConfigurationError, match=message):
        AsyncPersonsClient(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("env", "setting", "env_var"),
    [
        ({"POSTHOG_PERSONAL_API_KEY": "phx_a b", "POSTHOG_PROJECT_ID": "1"}, "api_key",
         "POSTHOG_PERSONAL_API_KEY"),
        ({"POSTHOG_PERSONAL_API_KEY": KEY, "POSTHOG_PROJECT_ID": "x"}, "project_id",
         "POSTHOG_PROJECT_ID"),
        ({"POSTHOG_PERSONAL_API_KEY": KEY, "POSTHOG_ENVIRONMENT_ID": "x"}, "environment_id",
         "POSTHOG_ENVIRONMENT_ID"),
        ({"POSTHOG_PERSONAL_API_KEY": KEY, "POSTHOG_PROJECT_ID": "1", "POSTHOG_HOST": "nohost"},
         "host", "POSTHOG_HOST"),
    ],
)  # fmt: skip
def test_a_bad_setting_from_the_environment_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str, env_var: str
) -> None:
    """What the CLI needs to word its own message without parsing ours."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigurationError) as caught:
            PersonsClient()
    assert (caught.value.setting, caught.value.env_var) == (setting, env_var)
    assert env_var in str(caught.value) or setting == "api_key"


def test_conflicting_environment_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", KEY)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "1")
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "2")
    with pytest.raises(ConfigurationError, match="both set"):
        PersonsClient()
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "1")  # the same id twice is not ambiguous
    PersonsClient().close()


@pytest.mark.parametrize("cls", [PersonsClient, AsyncPersonsClient])
def test_environment_id_is_a_deprecated_alias_sent_to_the_projects_scope(cls: type) -> None:
    """The 2026 server routes an environment id on the projects path to that environment (the
    notes, "Environments"); the deprecated scope is never called. The warning names the
    replacement and points at the caller's line."""
    recorder = Recorder(lambda r: httpx.Response(200, json=person_json(0)))
    with pytest.warns(
        DeprecationWarning, match=r"environment_id= is deprecated: use project_id="
    ) as caught:
        client = cls(KEY, environment_id=5, host=HOST, transport=httpx.MockTransport(recorder))
    assert caught[0].filename == __file__
    assert repr(client) == f"{cls.__name__}(host={HOST!r}, project_id='5')"
    if cls is PersonsClient:
        with client:
            client.get_person(1)
    else:

        async def get() -> None:
            async with client:
                await client.get_person(1)

        run_async(get())
    assert recorder.paths() == ["/api/projects/5/persons/1/"]


def test_project_id_raises_no_deprecation_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "3")
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "3")  # same id: project wins, no ambiguity
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PersonsClient(KEY, host=HOST).close()
        PersonsClient(KEY, project_id=3, host=HOST).close()


def test_the_key_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = iter([429, 503, 401])
    recorder = Recorder(lambda r: httpx.Response(next(statuses), json={"detail": "nope"}))
    client = PersonsClient(
        KEY, project_id=1, host=HOST, transport=httpx.MockTransport(recorder), sleep=lambda s: None
    )
    texts = [repr(client), str(client), repr(client.api), repr(client.__dict__)]
    with pytest.raises(posthog_persons.AuthenticationError) as caught:
        client.get_person(1)
    texts += [str(caught.value), repr(caught.value), caplog.text]
    for name in errors_module.__all__:
        cls = getattr(errors_module, name)
        if isinstance(cls, type):
            texts.append(str(cls.__doc__))
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert not [text for text in texts if KEY in text]
    with pytest.raises(TypeError):
        pickle.dumps(client._settings.api_key)
    client.close()


def test_context_managers_close_the_pool() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=person_json(0)))
    with PersonsClient(KEY, project_id=1, host=HOST, transport=httpx.MockTransport(recorder)) as c:
        assert c.get_person(1).id == 1
    assert c._http.is_closed

    async def main() -> bool:
        async with AsyncPersonsClient(
            KEY, project_id=1, host=HOST, transport=httpx.MockTransport(recorder)
        ) as ac:
            assert (await ac.get_person(1)).id == 1
        return ac._http.is_closed

    assert run_async(main())


def test_client_api_is_the_generated_client_and_is_paced_and_authenticated() -> None:
    from posthog_persons_api.api.persons import persons_retrieve
    from posthog_persons_api.client import Client

    statuses = iter([503, 200])
    recorder = Recorder(lambda r: httpx.Response(next(statuses), json=person_json(0)))
    with PersonsClient(
        KEY, project_id=1, host=HOST, transport=httpx.MockTransport(recorder), sleep=lambda s: None
    ) as client:
        assert isinstance(client.api, Client)
        response = persons_retrieve.sync_detailed("1", "1", client=client.api)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert len(recorder.requests) == 2
    assert recorder.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_import_is_lazy_and_exports_the_public_api() -> None:
    import subprocess
    import sys

    code = "import sys, posthog_persons; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    for name in posthog_persons.__all__:
        assert getattr(posthog_persons, name) is not None
    with pytest.raises(AttributeError):
        posthog_persons.nope  # noqa: B018


@pytest.mark.parametrize("value", ["²", "١٢", "1_000", "+1", " "])
def test_project_ids_are_ascii_digits(value: str) -> None:
    with pytest.raises(ConfigurationError, match="numeric id"):
        PersonsClient(KEY, project_id=value, host=HOST)


def _public_signature(method: object) -> list[tuple[str, str, object]]:
    import inspect

    params = list(inspect.signature(method).parameters.values())  # type: ignore[arg-type]
    return [(p.name, p.kind.name, p.default) for p in params if p.name != "self"]


def test_public_signatures_are_the_issues_contract() -> None:
    """Names, keyword-only markers and defaults of issue 3's interface, on both twins."""
    import inspect

    empty = inspect.Parameter.empty
    pos, kw = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"
    expected = {
        "iter_persons": [("search", kw, None), ("email", kw, None), ("distinct_id", kw, None),
                         ("properties", kw, None), ("page_size", kw, 100)],
        "get_person": [("person_id", pos, empty)],
        "get_persons_by_distinct_ids": [("ids", pos, empty)],
        "get_persons_by_uuids": [("uuids", pos, empty)],
        "update_properties": [("person_id", pos, empty), ("properties", pos, empty)],
        "delete_property": [("person_id", pos, empty), ("key", pos, empty)],
        "bulk_delete": [("distinct_ids", kw, None), ("ids", kw, None),
                        ("delete_events", kw, False), ("delete_recordings", kw, False),
                        ("keep_person", kw, False), ("batch_size", kw, 1000),
                        ("before_batch", kw, None), ("on_progress", kw, None)],
        "deletion_status": [("person_uuids", kw, None), ("status", kw, "all")],
        "wait_for_deletions": [("person_uuids", pos, empty), ("timeout", kw, empty),
                               ("poll_interval", kw, 60.0), ("delete_events", kw, True),
                               ("keep_person", kw, False)],
    }  # fmt: skip
    init = [("api_key", pos, None), ("project_id", kw, None), ("environment_id", kw, None),
            ("host", kw, None), ("timeout", kw, 30.0), ("max_retries", kw, 5),
            ("transport", kw, None)]  # fmt: skip
    for cls in (PersonsClient, AsyncPersonsClient):
        assert _public_signature(cls.__init__)[: len(init)] == init
        for name, params in expected.items():
            assert _public_signature(getattr(cls, name)) == params, (cls.__name__, name)
    iterators = {"iter_persons", "deletion_status"}
    for name in set(expected) - iterators:
        assert inspect.iscoroutinefunction(getattr(AsyncPersonsClient, name)), name
        assert not inspect.iscoroutinefunction(getattr(PersonsClient, name)), name
    for cls in (PersonsClient, AsyncPersonsClient):
        assert hasattr(cls, "__enter__" if cls is PersonsClient else "__aenter__")


def _every_text_of(error: BaseException) -> str:
    """The exception chain as a traceback would show it, with every frame's locals too."""
    import traceback

    texts = ["".join(traceback.format_exception(error))]
    texts.append(
        "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    )
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(vars(seen))]
        request = getattr(seen, "_request", None)
        if request is not None:
            texts += [repr(request), repr(request.headers), repr(dict(request.headers))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def _failures() -> list[httpx.MockTransport]:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def denied(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": "missing scope person:write"})

    return [httpx.MockTransport(h) for h in (refuse, slow, denied)]


@pytest.mark.parametrize("failure", range(3))
def test_the_key_is_in_no_traceback_cause_chain_or_log(
    failure: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    with PersonsClient(
        KEY, project_id=1, host=HOST, transport=_failures()[failure], sleep=lambda s: None,
        max_retries=2,
    ) as client:  # fmt: skip
        texts += [repr(client.api), repr(client._http.auth), repr(client._settings)]
        with pytest.raises(posthog_persons.PostHogError) as caught:
            client.bulk_delete(ids=[person_json(0)["uuid"]])
        assert isinstance(caught.value, posthog_persons.BulkDeleteError)
        texts.append(_every_text_of(caught.value))
        with pytest.raises(posthog_persons.PostHogError) as caught:
            client.get_person(1)
        texts.append(_every_text_of(caught.value))
    texts.append(caplog.text)
    assert "connection refused" in texts[-3] or "timed out" in texts[-3] or "scope" in texts[-3]
    assert not [text for text in texts if KEY in text]


@pytest.mark.parametrize("failure", range(3))
def test_async_the_key_is_in_no_traceback_cause_chain_or_log(
    failure: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def sleep(_seconds: float) -> None:
        return None

    class Async(httpx.AsyncBaseTransport):
        def __init__(self, sync: httpx.MockTransport) -> None:
            self.sync = sync

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return self.sync.handle_request(request)

    async def main() -> list[str]:
        texts = []
        async with AsyncPersonsClient(
            KEY, project_id=1, host=HOST, transport=Async(_failures()[failure]), sleep=sleep,
            max_retries=2,
        ) as client:  # fmt: skip
            texts += [repr(client), repr(client.api)]
            with pytest.raises(posthog_persons.BulkDeleteError) as caught:
                await client.bulk_delete(ids=[person_json(0)["uuid"]])
            texts.append(_every_text_of(caught.value))
        return texts

    texts = [*run_async(main()), caplog.text]
    assert not [text for text in texts if KEY in text]


def test_a_pacer_is_shared_not_copied_and_excludes_rate_limits() -> None:
    from posthog_persons import DEFAULT_RATE_LIMITS, Pacer, RateLimits

    shared = Pacer(DEFAULT_RATE_LIMITS)
    with PersonsClient(KEY, project_id=1, host=HOST, pacer=shared) as one:
        two = AsyncPersonsClient(KEY, project_id=1, host=HOST, pacer=one.pacer)
        assert one.pacer is shared and two.pacer is shared
    assert PersonsClient(KEY, project_id=1, host=HOST).pacer is not shared
    assert PersonsClient(KEY, project_id=1, host=HOST, rate_limits=None).pacer is None
    for limits in (None, RateLimits()):
        with pytest.raises(ConfigurationError, match="not both") as caught:
            PersonsClient(KEY, project_id=1, host=HOST, pacer=shared, rate_limits=limits)
        assert caught.value.setting == "pacer"
