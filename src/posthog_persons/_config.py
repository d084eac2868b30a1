"""Client settings: environment defaults, validation, the configured origin, the secret key."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from .errors import ConfigurationError

DEFAULT_HOST = "https://us.posthog.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def _host(host: str | None, env: Mapping[str, str]) -> Origin:
    raw = host if host is not None else env.get("POSTHOG_HOST") or DEFAULT_HOST
    where, env_var = ("host", None) if host is not None else ("POSTHOG_HOST", "POSTHOG_HOST")
    try:
        parts = urlsplit(raw.strip())
        origin = Origin.parse(raw.strip())
        bad = (parts.path not in ("", "/")) or parts.query or parts.fragment or parts.username
    except ValueError:
        raise ConfigurationError(
            f"{where} must be a base URL with a scheme, like {DEFAULT_HOST!r}; got {raw!r}",
            setting="host",
            env_var=env_var,
        ) from None
    if bad:
        raise ConfigurationError(
            f"{where} must be a bare base URL (scheme, host, optional port; no path, query or "
            f"credentials), like {DEFAULT_HOST!r}; got {str(origin)!r} with extra parts",
            setting="host",
            env_var=env_var,
        )
    if origin.host.endswith(".i.posthog.com"):
        raise ConfigurationError(
            f"{origin} is an ingestion host and does not serve the persons API; use the app "
            f"host, e.g. https://us.posthog.com or https://eu.posthog.com",
            setting="host",
            env_var=env_var,
        )
    return origin


def _id(value: int | str, name: str, *, setting: str, env_var: str | None) -> str:
    text = str(value).strip() if isinstance(value, int | str) else ""
    numeric = text.isascii() and text.isdigit()  # not "²" or "١٢", which str.isdigit() accepts
    if isinstance(value, bool) or not (numeric or text == "@current"):
        raise ConfigurationError(
            f"{name} must be a numeric id, got {value!r}", setting=setting, env_var=env_var
        )
    return text


def _deprecated_environment(alias: str, replacement: str, stacklevel: int) -> None:
    warnings.warn(
        f"{alias} is deprecated: use {replacement} instead (PostHog deprecated the "
        "/api/environments/ scope; the id is sent as the project id, which the server routes "
        "to that environment)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _project(
    project_id: int | str | None,
    environment_id: int | str | None,
    env: Mapping[str, str],
    stacklevel: int,
) -> str:
    """The project id every request is sent to (the /api/projects/ scope).

    `environment_id` / POSTHOG_ENVIRONMENT_ID are a deprecated alias: the 2026 server routes
    an environment's id on the projects path to that environment (its router registers the
    environment-level viewsets under /api/projects/{id}/ too, and project and environment ids
    come from one sequence), so the alias needs no second scope.
    """
    if project_id is not None and environment_id is not None:
        raise ConfigurationError(
            "pass project_id or environment_id, not both (environment_id is deprecated: "
            "pass project_id)",
            setting="environment_id",
        )
    if project_id is not None:
        return _id(project_id, "project_id", setting="project_id", env_var=None)
    if environment_id is not None:
        _deprecated_environment("environment_id=", "project_id=", stacklevel + 1)
        return _id(environment_id, "environment_id", setting="environment_id", env_var=None)
    env_project, env_environment = env.get("POSTHOG_PROJECT_ID"), env.get("POSTHOG_ENVIRONMENT_ID")
    if env_project and env_environment and env_project.strip() != env_environment.strip():
        raise ConfigurationError(
            "POSTHOG_PROJECT_ID and POSTHOG_ENVIRONMENT_ID are both set, to different ids; "
            "unset POSTHOG_ENVIRONMENT_ID (deprecated) or pass project_id= explicitly",
            setting="project_id",
            env_var="POSTHOG_ENVIRONMENT_ID",
        )
    if env_project:
        return _id(
            env_project, "POSTHOG_PROJECT_ID", setting="project_id", env_var="POSTHOG_PROJECT_ID"
        )
    if env_environment:
        _deprecated_environment("POSTHOG_ENVIRONMENT_ID", "POSTHOG_PROJECT_ID", stacklevel + 1)
        return _id(
            env_environment,
            "POSTHOG_ENVIRONMENT_ID",
            setting="environment_id",
            env_var="POSTHOG_ENVIRONMENT_ID",
        )
    raise ConfigurationError(
        "no project: pass project_id=, or set POSTHOG_PROJECT_ID", setting="project_id"
    )


def _key(api_key: str | None, env: Mapping[str, str]) -> Secret:
    raw = api_key if api_key is not None else env.get("POSTHOG_PERSONAL_API_KEY", "")
    env_var = None if api_key is not None else "POSTHOG_PERSONAL_API_KEY"
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigurationError(
            "no API key: pass api_key= or set POSTHOG_PERSONAL_API_KEY (a personal API key, "
            "phx_..., with the person:read / person:write scopes)",
            setting="api_key",
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise ConfigurationError(
            "the API key contains whitespace or control characters",
            setting="api_key",
            env_var=env_var,
        )
    return Secret(raw)


def resolve(
    api_key: str | None,
    *,
    project_id: int | str | None,
    environment_id: int | str | None,
    host: str | None,
    env: Mapping[str, str] | None = None,
    stacklevel: int = 2,
) -> Settings:
    """Validate the client's settings, filling gaps from the environment.

    `stacklevel` (as `warnings.warn` counts from here): where the user's code is, for the
    DeprecationWarning of environment_id to point at it.
    """
    env = os.environ if env is None else env
    project = _project(project_id, environment_id, env, stacklevel + 1)
    return Settings(_key(api_key, env), _host(host, env), project)
