"""Construction: settings, environment defaults, ConfigurationError, secrets never shown."""

from __future__ import annotations

import logging
import pickle

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
    with PersonsClient() as client:
        assert (client.host, client.project_id, client.scope) == (
            "https://eu.posthog.com",
            "7",
            "environments",
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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project_id": 1}, "no API key"),
        ({"api_key": "   ", "project_id": 1}, "no API key"),
        ({"api_key": KEY}, "no project"),
        ({"api_key": KEY, "project_id": 1, "environment_id": 2}, "not both"),
        ({"api_key": KEY, "project_id": "abc"}, "numeric"),
        ({"api_key": KEY, "project_id": True}, "numeric"),
        ({"api_key": KEY, "project_id": 1, "host": "us.posthog.com"}, "scheme"),
        ({"api_key": KEY, "project_id": 1, "host": "ftp://us.posthog.com"}, "scheme"),
        ({"api_key": KEY, "project_id": 1, "host": "https://us.posthog.com/api"}, "no path"),
        ({"api_key": KEY, "project_id": 1, "host": "https://us.posthog.com/?x=1"}, "no path"),
        ({"api_key": KEY, "project_id": 1, "host": "https://us.i.posthog.com"}, "ingestion host"),
        ({"api_key": KEY, "project_id": 1, "host": "https://eu.i.posthog.com/"}, "ingestion host"),
        ({"api_key": KEY, "project_id": 1, "timeout": 0}, "timeout"),
        ({"api_key": KEY, "project_id": 1, "max_retries": -1}, "max_retries"),
        ({"api_key": "phx_with space", "project_id": 1}, "whitespace"),
    ],
)
def test_bad_settings_raise_configuration_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        PersonsClient(**kwargs)  # type: ignore[arg-type]
    assert KEY not in str(caught.value)
    with pytest.raises(ConfigurationError, match=message):
        AsyncPersonsClient(**kwargs)  # type: ignore[arg-type]


def test_conflicting_environment_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", KEY)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "1")
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "2")
    with pytest.raises(ConfigurationError, match="both set"):
        PersonsClient()
    monkeypatch.setenv("POSTHOG_ENVIRONMENT_ID", "1")  # the same id twice is not ambiguous
    PersonsClient().close()


def test_environment_scope_calls_the_environments_operations() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=person_json(0)))
    with PersonsClient(
        KEY, environment_id=5, host=HOST, transport=httpx.MockTransport(recorder)
    ) as c:
        c.get_person(1)
    assert recorder.paths() == ["/api/environments/5/persons/1/"]


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
