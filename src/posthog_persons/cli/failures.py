"""Turning the client's exceptions into one line that says what to fix, and an exit code."""

from __future__ import annotations

from posthog_persons import errors
from posthog_persons.errors import PostHogError

from .config import KEY_ENV, redact
from .exits import Exit


def unwrap(error: BaseException) -> BaseException:
    """The error that stopped a bulk delete, rather than its wrapper."""
    while isinstance(error, errors.BulkDeleteError):
        error = error.cause
    return error


def describe(error: PostHogError, *, where: str = "") -> tuple[str, Exit]:
    """One line and an exit code for an error from the client, the key masked in it."""
    message, code = _describe(error, where)
    return redact(message), code


def _describe(wrapped: PostHogError, where: str) -> tuple[str, Exit]:
    error = unwrap(wrapped)
    at = f" ({where})" if where else ""
    if isinstance(error, errors.AuthenticationError):
        return (
            f"the server rejected the API key{at}: {error.message}. Check {KEY_ENV} or "
            "--api-key-file: it must be a personal API key (phx_...) of this host's "
            "organisation",
            Exit.USAGE,
        )
    if isinstance(error, errors.PermissionDeniedError):
        scope = error.missing_scope or "person:read / person:write"
        return (
            f"permission denied{at}: {error.message}. Give the personal API key the "
            f"'{scope}' scope and access to this project (PostHog: Settings > Personal API "
            "keys)",
            Exit.USAGE,
        )
    if isinstance(error, errors.NotFoundError) and error.resource == "project":
        return (
            f"project not found{at}: {error.message}. Check --project-id / --environment-id "
            "and --host (US and EU cloud are separate)",
            Exit.USAGE,
        )
    if isinstance(error, errors.RateLimitError):
        return (
            f"rate limited{at} even after retrying: {error.message}. Wait a while and re-run",
            Exit.INCOMPLETE,
        )
    if isinstance(error, errors.MalformedResponseError):
        return (
            f"the server's answer does not have the documented shape{at}: {error.message}",
            Exit.INCOMPLETE,
        )
    if isinstance(error, errors.ServerError):
        return f"server error{at} even after retrying: {error.message}", Exit.INCOMPLETE
    if isinstance(error, errors.APIConnectionError):
        return (
            f"cannot reach the server{at}: {error.message}. Check --host and the network",
            Exit.INCOMPLETE,
        )
    if isinstance(error, errors.ConfigurationError | errors.InvalidInputError):
        return f"{error.message}{at}", Exit.USAGE
    if isinstance(error, errors.APIError):
        return f"request failed{at}: {error.message}", Exit.INCOMPLETE
    message = error.message if isinstance(error, PostHogError) else str(error)
    return f"{message}{at}", Exit.INCOMPLETE
