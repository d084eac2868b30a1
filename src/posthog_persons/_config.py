"""Client settings: environment defaults, validation, the configured origin, the secret key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

import attrs

from .errors import ConfigurationError

DEFAULT_HOST = "https://us.posthog.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}

Scope = Literal["projects", "environments"]


@attrs.frozen
class Origin:
    """scheme + host + port: the only place the API key is ever sent to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; ValueError if it has none."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an absolute http(s) URL: {url!r}")
        return cls(scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


class Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("the API key cannot be pickled")


@attrs.frozen
class Settings:
    api_key: Secret = attrs.field(repr=False)
    origin: Origin
    project_id: str
    scope: Scope


def _host(host: str | None, env: Mapping[str, str]) -> Origin:
    raw = host if host is not None else env.get("POSTHOG_HOST") or DEFAULT_HOST
    where = "host" if host is not None else "POSTHOG_HOST"
    try:
        parts = urlsplit(raw.strip())
        origin = Origin.parse(raw.strip())
        bad = (parts.path not in ("", "/")) or parts.query or parts.fragment or parts.username
    except ValueError:
        raise ConfigurationError(
            f"{where} must be a base URL with a scheme, like {DEFAULT_HOST!r}; got {raw!r}"
        ) from None
    if bad:
        raise ConfigurationError(
            f"{where} must be a bare base URL (scheme, host, optional port; no path, query or "
            f"credentials), like {DEFAULT_HOST!r}; got {str(origin)!r} with extra parts"
        )
    if origin.host.endswith(".i.posthog.com"):
        raise ConfigurationError(
            f"{origin} is an ingestion host and does not serve the persons API; use the app "
            f"host, e.g. https://us.posthog.com or https://eu.posthog.com"
        )
    return origin


def _id(value: int | str, name: str) -> str:
    text = str(value).strip() if isinstance(value, int | str) else ""
    numeric = text.isascii() and text.isdigit()  # not "²" or "١٢", which str.isdigit() accepts
    if isinstance(value, bool) or not (numeric or text == "@current"):
        raise ConfigurationError(f"{name} must be a numeric id, got {value!r}")
    return text


def _project(
    project_id: int | str | None, environment_id: int | str | None, env: Mapping[str, str]
) -> tuple[str, Scope]:
    if project_id is not None and environment_id is not None:
        raise ConfigurationError("pass project_id or environment_id, not both")
    if project_id is not None:
        return _id(project_id, "project_id"), "projects"
    if environment_id is not None:
        return _id(environment_id, "environment_id"), "environments"
    env_project, env_environment = env.get("POSTHOG_PROJECT_ID"), env.get("POSTHOG_ENVIRONMENT_ID")
    if env_project and env_environment and env_project.strip() != env_environment.strip():
        raise ConfigurationError(
            "POSTHOG_PROJECT_ID and POSTHOG_ENVIRONMENT_ID are both set, to different ids; "
            "pass project_id= or environment_id= explicitly"
        )
    if env_project:
        return _id(env_project, "POSTHOG_PROJECT_ID"), "projects"
    if env_environment:
        return _id(env_environment, "POSTHOG_ENVIRONMENT_ID"), "environments"
    raise ConfigurationError(
        "no project: pass project_id= (or environment_id=), or set POSTHOG_PROJECT_ID"
    )


def _key(api_key: str | None, env: Mapping[str, str]) -> Secret:
    raw = api_key if api_key is not None else env.get("POSTHOG_PERSONAL_API_KEY", "")
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigurationError(
            "no API key: pass api_key= or set POSTHOG_PERSONAL_API_KEY (a personal API key, "
            "phx_..., with the person:read / person:write scopes)"
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise ConfigurationError("the API key contains whitespace or control characters")
    return Secret(raw)


def resolve(
    api_key: str | None,
    *,
    project_id: int | str | None,
    environment_id: int | str | None,
    host: str | None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Validate the client's settings, filling gaps from the environment."""
    env = os.environ if env is None else env
    project, scope = _project(project_id, environment_id, env)
    return Settings(_key(api_key, env), _host(host, env), project, scope)
